/**
 * Certificate helpers for the `tls` check: parse the peer chain kept as evidence (base64 DER,
 * leaf first), read names and dates, match the identity the spec requires, and work out what
 * the chain tells us about trust.
 *
 * About the evidence chain: it is what Node's `getPeerCertificate(true)` returned. Node links
 * each certificate to its issuer among the certificates the server SENT, and then completes the
 * top of that list from the TRUST STORE when the issuer is there. So:
 * - a chain of one non-self-signed certificate means the leaf's issuer was neither sent nor a
 *   trusted root (otherwise Node would have appended it): the intermediate is missing — or the
 *   issuer is a CA nobody trusts; the chain alone cannot tell those two apart;
 * - a trusted chain ends with the root from the store even though servers never send it.
 * OpenSSL reports only the LAST verification error: a date error (expired, not yet valid) hides
 * a trust error, so trust facts are also derived from the chain's structure.
 *
 * Node's X509Certificate parses RSA and ECDSA certificates (NODE-NOTES); forge is not used here.
 */
import type { X509Certificate } from 'node:crypto';
import { x509FromBase64 } from '../net/x509.js';
import * as net from 'node:net';

export const DAY_MS = 86_400_000;

export interface CertInfo {
  x509: X509Certificate;
  /** subject common name ('' when none) */
  cn: string;
  /** issuer common name, or the whole issuer DN when it has no CN */
  issuerName: string;
  /** one-line subject DN */
  subject: string;
  dnsNames: string[];
  /** IP SANs, normalised (IPv6 compressed) */
  ipAddresses: string[];
  notBefore: number;
  notAfter: number;
  /** issuer == subject and the certificate's own key verifies its signature */
  selfSigned: boolean;
  /** Authority Information Access "CA Issuers" URL (where the issuer certificate can be downloaded) */
  caIssuersUrl: string | null;
  fingerprint256: string;
}

/** `CN=a\nO=b` → value of one attribute ('' if absent). Values may be JSON-quoted by Node. */
function dnAttr(dn: string, attr: string): string {
  for (const line of dn.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && line.slice(0, i) === attr) return unquote(line.slice(i + 1));
  }
  return '';
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v.slice(1, -1);
    }
  }
  return v;
}

/** Compressed, lower-case textual form of an IP address (IPv6 `0:0:…:1` → `::1`). */
export function normaliseIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (net.isIPv6(bare)) {
    try {
      return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      return bare.toLowerCase();
    }
  }
  return bare;
}

/** Split Node's `subjectAltName` string (`DNS:a, IP Address:1.2.3.4`, values possibly JSON-quoted). */
export function parseSubjectAltName(san: string | undefined): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  if (!san) return { dns, ip };
  const re = /(DNS|IP Address|[A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(san)) !== null) {
    if (m[0] === '') break;
    const value = unquote(m[2]!.trim());
    if (m[1] === 'DNS') dns.push(value);
    else if (m[1] === 'IP Address') ip.push(normaliseIp(value));
  }
  return { dns, ip };
}

function caIssuers(infoAccess: string | undefined): string | null {
  if (!infoAccess) return null;
  const m = /CA Issuers - URI:("(?:[^"\\]|\\.)*"|\S+)/.exec(infoAccess);
  return m ? unquote(m[1]!) : null;
}

function isSelfSigned(x: X509Certificate): boolean {
  try {
    // Not checkIssued(): it also demands keyCertSign, which a self-signed *leaf* usually lacks.
    return x.subject === x.issuer && x.verify(x.publicKey);
  } catch {
    return false;
  }
}

/**
 * CertInfo per parsed certificate: `x509FromBase64` shares one X509Certificate per DER, so a
 * batch's thousands of chains parse, and verify self-signatures, once per certificate. Shared:
 * treat a CertInfo as read-only.
 */
const infos = new WeakMap<X509Certificate, CertInfo>();

export function certInfo(x509: X509Certificate): CertInfo {
  let info = infos.get(x509);
  if (info === undefined) {
    info = buildCertInfo(x509);
    infos.set(x509, info);
  }
  return info;
}

function buildCertInfo(x509: X509Certificate): CertInfo {
  const san = parseSubjectAltName(x509.subjectAltName);
  const issuerCn = dnAttr(x509.issuer, 'CN');
  return {
    x509,
    cn: dnAttr(x509.subject, 'CN'),
    issuerName: issuerCn || x509.issuer.replace(/\n/g, ', '),
    subject: x509.subject.replace(/\n/g, ', '),
    dnsNames: san.dns,
    ipAddresses: san.ip,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
    selfSigned: isSelfSigned(x509),
    caIssuersUrl: caIssuers(x509.infoAccess),
    fingerprint256: x509.fingerprint256,
  };
}

/** Parse the evidence chain (base64 DER, leaf first). Unparsable entries are reported, not thrown. */
export function parseChain(chain: string[]): { certs: CertInfo[]; error: string | null } {
  const certs: CertInfo[] = [];
  for (let i = 0; i < chain.length; i++) {
    try {
      certs.push(certInfo(x509FromBase64(chain[i]!)));
    } catch (e) {
      return { certs, error: `certificate #${i + 1} of the chain cannot be parsed (${(e as Error).message})` };
    }
  }
  return { certs, error: null };
}

/** A short name for a certificate in summaries: its CN, else its first SAN, else its subject DN. */
export function certLabel(c: CertInfo): string {
  return c.cn || c.dnsNames[0] || c.ipAddresses[0] || c.subject || '(no name)';
}

/** Every name the certificate is valid for, SANs first (for "the certificate is for …"). */
export function certNames(c: CertInfo): string[] {
  const names = [...c.dnsNames, ...c.ipAddresses];
  return names.length ? names : c.cn ? [c.cn] : [];
}

export type IdentityMatch =
  /** a SAN covers the name */
  | { ok: true; via: string }
  /** only the subject CN matches: modern clients (Go, Synapse's service_identity) ignore the CN */
  | { ok: false; cnOnly: true }
  | { ok: false; cnOnly: false };

/**
 * Does the certificate cover `name`? A DNS name must be in a DNS SAN (RFC 6125 wildcards, no
 * partial wildcards); an IP literal needs an IP SAN (spec §1.2). The subject CN does not count.
 */
export function matchIdentity(c: CertInfo, name: string): IdentityMatch {
  const bare = name.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) {
    const m = c.x509.checkIP(bare);
    return m ? { ok: true, via: normaliseIp(m) } : { ok: false, cnOnly: false };
  }
  const opts = { subject: 'never' as const, wildcards: true, partialWildcards: false, multiLabelWildcards: false, singleLabelSubdomains: false };
  const m = c.x509.checkHost(bare, opts);
  if (m) return { ok: true, via: m };
  const cn = c.x509.checkHost(bare, { ...opts, subject: 'always' });
  return { ok: false, cnOnly: !!cn };
}

/** Does a certificate cover `name` (for the hints: "it covers the SRV target")? */
export function covers(c: CertInfo, name: string): boolean {
  return matchIdentity(c, name).ok;
}

/** Whole days from `now` until `t` (negative when past), rounded towards zero. */
export function wholeDays(t: number, now: number): number {
  return Math.trunc((t - now) / DAY_MS);
}

/** "3 days" / "1 day" / "5 hours" / "12 minutes" for a positive duration in ms. */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  const plural = (n: number, u: string) => `${n} ${u}${n === 1 ? '' : 's'}`;
  if (abs >= 2 * DAY_MS) return plural(Math.floor(abs / DAY_MS), 'day');
  if (abs >= 2 * 3600_000) return plural(Math.floor(abs / 3600_000), 'hour');
  if (abs >= 120_000) return plural(Math.floor(abs / 60_000), 'minute');
  return plural(Math.max(0, Math.floor(abs / 1000)), 'second');
}

/** ISO date (YYYY-MM-DD) of an epoch-ms instant, UTC. */
export function isoDay(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : 'unknown date';
}

/** OpenSSL verification codes that are about dates (OpenSSL reports only the last error). */
export const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD']);

/**
 * What the chain structure says about trust, independent of the error OpenSSL chose to report.
 * - 'self-signed': the leaf is its own issuer;
 * - 'issuer-missing': one non-self-signed certificate: its issuer was not sent and is not a
 *   trusted root (missing intermediate, or an untrusted CA);
 * - 'ok-structure': the chain links up further (trust then depends on chainError).
 */
export function chainShape(certs: CertInfo[], chainError: string | null = null): 'empty' | 'self-signed' | 'issuer-missing' | 'ok-structure' {
  if (certs.length === 0) return 'empty';
  const leaf = certs[0]!;
  if (leaf.selfSigned || chainError === 'DEPTH_ZERO_SELF_SIGNED_CERT') return 'self-signed';
  if (certs.length === 1) return 'issuer-missing';
  return 'ok-structure';
}

/** Protocols below TLS 1.2 (Go clients — Dendrite, the federation tester — refuse them). */
export function isOldProtocol(p: string | null): boolean {
  return p !== null && /^(SSLv\d|TLSv1(\.[01])?)$/.test(p);
}
