/**
 * The CA list used to validate certificates: Node's default store (Mozilla roots plus
 * NODE_EXTRA_CA_CERTS) and, with --cacert, the extra PEM files. Passing `ca` to tls.connect
 * replaces the default store and drops NODE_EXTRA_CA_CERTS (NODE-NOTES), so when extra CAs are
 * given we rebuild the whole list ourselves.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { OptionError } from './connect-map.js';

export interface Trust {
  /** undefined = Node's default store */
  ca: string[] | undefined;
  /** PEMs given by --cacert (for the report) */
  extra: string[];
}

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPem(text: string): string[] {
  return text.match(PEM_RE) ?? [];
}

export function buildTrust(cacertFiles: string[] = [], extraPems: string[] = []): Trust {
  const extra: string[] = [...extraPems];
  for (const f of cacertFiles) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new OptionError(`--cacert ${f}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const pems = splitPem(text);
    if (pems.length === 0) throw new OptionError(`--cacert ${f}: no PEM certificate in it`);
    for (const p of pems) {
      try {
        new X509Certificate(p);
      } catch {
        throw new OptionError(`--cacert ${f}: a certificate in it cannot be parsed`);
      }
    }
    extra.push(...pems);
  }
  if (extra.length === 0) return { ca: undefined, extra };
  const ca = [...rootCertificates];
  const envFile = process.env.NODE_EXTRA_CA_CERTS;
  if (envFile) {
    try {
      ca.push(...splitPem(readFileSync(envFile, 'utf8')));
    } catch {
      /* Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS */
    }
  }
  ca.push(...extra);
  return { ca, extra };
}
