/**
 * `tls`: per resolved address, the TLS handshake and the certificate (spec §1.1, §1.2).
 *
 * - handshake: refused, timed out, plain HTTP on the TLS port, reset — reported here once; the
 *   other per-address checks skip that address;
 * - chain: trusted, self-signed, incomplete (missing intermediate) or from an untrusted CA;
 * - identity: against `resolution.certificateName` — the server name or the delegated hostname,
 *   never the SRV target; an IP SAN for IP literals. The subject CN does not count;
 * - dates: expired / not yet valid fail, under 14 days warn, days left shown;
 * - protocol below TLS 1.2 warns; a resumed session fails (validation would have been skipped).
 */
import * as net from 'node:net';
import type { Finding, Resolution } from '../core/types.js';
import { isServerNameError, type ParsedServerName } from '../core/server-name.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { AddressEvidence } from '../probes/address.js';
import type { Check } from './types.js';
import { quote } from '../core/sanitize.js';
import { addressContext, connectionFailure, describeConnectError } from './address-util.js';
import {
  DATE_ERRORS,
  DAY_MS,
  certLabel,
  certNames,
  chainShape,
  covers,
  formatSpan,
  isOldProtocol,
  isoDay,
  matchIdentity,
  parseChain,
  wholeDays,
  type CertInfo,
} from './cert-util.js';

/** webpki's MAX_SUB_CA_COUNT: longer paths fail in rustls-based homeservers. */
export const MAX_INTERMEDIATES = 6;

/** Warn when the certificate expires within this many days. */
export const EXPIRY_WARN_DAYS = 14;

const ID = 'tls' as const;

/** Quote a name coming from a certificate (remote-controlled text). */
function q(name: string): string {
  return quote(name, 120);
}

function listNames(c: CertInfo): string {
  const names = certNames(c);
  if (names.length === 0) return 'no name at all';
  const shown = names.slice(0, 4).map((n) => q(n).slice(1, -1));
  return shown.join(', ') + (names.length > 4 ? ` and ${names.length - 4} more` : '');
}

/** Why the certificate must cover `certificateName`, in the words of spec §1.1. */
function certificateRule(res: Resolution, ae: AddressEvidence, serverName: string): string {
  const name = res.certificateName;
  const delegated = res.delegatedServerName;
  switch (res.method) {
    case 'ip-literal':
      return `The server name ${serverName} is an IP address: remote servers connect without SNI and require an IP-address entry (iPAddress subjectAltName) for ${name} in the certificate; a DNS name or the common name does not count.`;
    case 'well-known-ip-literal':
      return `/.well-known/matrix/server delegates to the IP address ${delegated}: remote servers connect without SNI and require an IP-address entry (iPAddress subjectAltName) for ${name} in the certificate.`;
    case 'srv':
    case 'srv-legacy':
      return `${serverName} is found through its SRV record: remote servers check the certificate for the server name ${name}, not for the SRV target ${ae.host} (DNS is not secure, so the target must prove it may speak for ${name}).`;
    case 'well-known-srv':
    case 'well-known-srv-legacy':
      return `/.well-known/matrix/server delegates to ${delegated}, whose SRV record points at ${ae.host}: remote servers check the certificate for ${name}, not for the SRV target ${ae.host}.`;
    case 'well-known-explicit-port':
    case 'well-known-default-port':
      return `/.well-known/matrix/server delegates to ${delegated}: remote servers connect to it and check the certificate for ${name}.`;
    case 'explicit-port':
    case 'default-port':
    default:
      return `Remote servers check the certificate for ${name}.`;
  }
}

function identityFinding(ev: ServerEvidence, res: Resolution, ae: AddressEvidence, leaf: CertInfo, details: Record<string, unknown>): Finding | null {
  const want = res.certificateName;
  const m = matchIdentity(leaf, want);
  if (m.ok) return null;
  const serverName = isParsed(ev) ? ev.parsed.serverName : want;
  const isIp = res.tlsServerName === null;
  const rule = certificateRule(res, ae, serverName);
  const fix = isIp
    ? `Issue a certificate with the IP address ${want} as a subjectAltName (most public CAs will not), or better: use a hostname as server name, or delegate with /.well-known/matrix/server to a hostname that has an ordinary certificate.`
    : `Get a certificate that covers ${want} (e.g. \`certbot certonly -d ${want}\`) and serve it on ${ae.target}.`;
  const srvTarget = ae.host !== want && !net.isIP(ae.host) && res.method.includes('srv') ? ae.host : null;
  const f = (summary: string, hint: string): Finding => ({ id: ID, status: 'fail', target: ae.target, summary, hint, details });
  if (m.cnOnly) {
    return f(
      `certificate names ${want} only in its subject common name (CN), not in subjectAltName`,
      `Remote servers ignore the common name (so do Go, Python's service_identity and browsers since 2017). Reissue the certificate with ${want} as a subjectAltName — every ACME client (certbot, acme.sh, Caddy) does that.`,
    );
  }
  if (srvTarget && covers(leaf, srvTarget)) {
    const via = res.delegatedServerName ? `/.well-known/matrix/server to say {"m.server": "${srvTarget}:${ae.port}"}` : `/.well-known/matrix/server on ${serverName} with {"m.server": "${srvTarget}:${ae.port}"}`;
    return f(
      `certificate is for the SRV target ${srvTarget}, not for ${want}`,
      `Remote servers check the certificate for ${want}, not for the SRV target ${srvTarget}: DNS is not secure, so the target has to prove with its certificate that it may speak for ${want} (spec §1). ${fix} Alternatively, delegate with ${via}: then the certificate for ${srvTarget} is the one checked.`,
    );
  }
  if (isIp) {
    return f(`certificate has no IP-address entry for ${want} (it is for ${listNames(leaf)})`, `${rule} ${fix}`);
  }
  const original = isParsed(ev) ? ev.parsed.host : null;
  if (res.delegatedServerName && original && original !== want && covers(leaf, original)) {
    return f(
      `certificate is for ${original}, not for the delegated name ${want}`,
      `${rule} The certificate of the homeserver must cover the delegated name; ${original}'s own certificate is only needed for the well-known file. ${fix}`,
    );
  }
  return f(`certificate is for ${listNames(leaf)}, not ${want}`, `${rule} ${fix}`);
}

function isParsed(ev: ServerEvidence): ev is ServerEvidence & { parsed: ParsedServerName } {
  return !isServerNameError(ev.parsed);
}

const UNTRUSTED_HINT =
  'Remote servers only accept certificates from a CA they trust (spec: "signed by a known Certificate Authority"). Use a certificate from a public CA — Let\'s Encrypt is free (certbot, acme.sh, or the ACME support built into Caddy/Traefik) — and serve the full chain.';

function trustFindings(ae: AddressEvidence, certs: CertInfo[], chainError: string | null, details: Record<string, unknown>): Finding[] {
  const leaf = certs[0]!;
  const shape = chainShape(certs, chainError);
  const f = (summary: string, hint: string): Finding => ({ id: ID, status: 'fail', target: ae.target, summary, hint, details });
  if (shape === 'self-signed') {
    return [f(`self-signed certificate (${q(certLabel(leaf))} signed by itself)`, `${UNTRUSTED_HINT} A self-signed certificate only works with servers configured to skip verification for you.`)];
  }
  if (shape === 'issuer-missing') {
    const issuer = q(leaf.issuerName);
    const aia = leaf.caIssuersUrl ? ` (The certificate says its issuer can be downloaded from ${q(leaf.caIssuersUrl)}: that is the certificate to add.)` : '';
    return [
      f(
        `certificate chain incomplete or not trusted: its issuer ${issuer} was not sent and is not a trusted root (missing intermediate certificate?)`,
        `The server sent only its own certificate, and its issuer ${issuer} is not a root CA that servers trust. Usually ${issuer} is an intermediate CA that the server must send along: configure the full chain (certbot: fullchain.pem rather than cert.pem, in nginx's ssl_certificate or your proxy's equivalent). Browsers often fill in a missing intermediate themselves; homeservers do not.${aia} If ${issuer} is a private or test CA instead, no remote server will trust it: use a certificate from a public CA such as Let's Encrypt.`,
      ),
    ];
  }
  if (!chainError || DATE_ERRORS.has(chainError)) return [];
  const top = certs[certs.length - 1]!;
  switch (chainError) {
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return [f(`certificate is not trusted: its chain ends at the root ${q(certLabel(top))}, which is not a trusted CA`, UNTRUSTED_HINT)];
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return [
        f(
          `certificate is not trusted: its chain ends at ${q(certLabel(top))}, issued by ${q(top.issuerName)}, which is neither sent nor a trusted root CA`,
          `Either ${q(top.issuerName)} is a CA that servers do not trust (a private CA, or a staging/test CA such as Let's Encrypt's staging environment) — ${UNTRUSTED_HINT} — or a further intermediate certificate is missing from the chain the server sends.`,
        ),
      ];
    case 'INVALID_PURPOSE':
      return [f('certificate is not valid for TLS servers (its extended key usage does not include serverAuth)', 'Reissue the certificate as a TLS server certificate (extendedKeyUsage serverAuth); any ACME CA does this.')];
    case 'CERT_SIGNATURE_FAILURE':
    case 'CERT_CHAIN_TOO_LONG':
    case 'INVALID_CA':
    case 'PATH_LENGTH_EXCEEDED':
    default:
      return [f(`certificate chain is not valid: ${chainError}`, `Serve a certificate chain from a public CA, leaf first, then its intermediates. ${UNTRUSTED_HINT}`)];
  }
}

function dateFindings(ae: AddressEvidence, certs: CertInfo[], chainError: string | null, now: number, details: Record<string, unknown>): Finding[] {
  const out: Finding[] = [];
  const unconfirmed = chainError !== null && DATE_ERRORS.has(chainError) && chainShape(certs, chainError) === 'ok-structure';
  const note = unconfirmed ? ' (While a certificate is outside its validity dates, other chain problems are not reported: check again once the dates are fixed.)' : '';
  certs.forEach((c, i) => {
    const which = i === 0 ? 'certificate' : `${i === certs.length - 1 && c.selfSigned ? 'root' : 'intermediate'} certificate ${q(certLabel(c))}`;
    const renew = i === 0
      ? 'Renew the certificate and reload the server (certbot: `certbot renew`, then reload nginx/Caddy/HAProxy); make sure renewal runs automatically.'
      : 'Serve the current intermediate certificate from your CA (a renewed fullchain.pem has it).';
    if (!Number.isFinite(c.notAfter) || !Number.isFinite(c.notBefore)) {
      out.push({ id: ID, status: 'fail', target: ae.target, summary: `${which} has unreadable validity dates`, hint: renew, details });
    } else if (now > c.notAfter) {
      out.push({ id: ID, status: 'fail', target: ae.target, summary: `${which} expired on ${isoDay(c.notAfter)} (${formatSpan(now - c.notAfter)} ago)`, hint: renew + note, details });
    } else if (now < c.notBefore) {
      out.push({
        id: ID, status: 'fail', target: ae.target,
        summary: `${which} is not valid yet: valid from ${isoDay(c.notBefore)} (in ${formatSpan(c.notBefore - now)})`,
        hint: `Either the certificate was issued with a future start date, or the server's clock is wrong: check the clock (NTP) on the machine that issued it and serve a certificate that is valid now.${note}`,
        details,
      });
    } else if (c.notAfter - now < EXPIRY_WARN_DAYS * DAY_MS) {
      const left = c.notAfter - now;
      out.push({
        id: ID, status: 'warn', target: ae.target,
        summary: `${which} expires in ${left >= DAY_MS ? `${wholeDays(c.notAfter, now)} day${wholeDays(c.notAfter, now) === 1 ? '' : 's'}` : formatSpan(left)} (${isoDay(c.notAfter)})`,
        hint: `${renew} Let's Encrypt certificates are normally renewed 30 days before they expire: if this one was not, automatic renewal is probably broken.`,
        details,
      });
    }
  });
  return out;
}

function judgeAddress(ev: ServerEvidence, res: Resolution, ae: AddressEvidence): Finding[] {
  const now = ev.collectedAt;
  const failure = connectionFailure(ae);
  if (failure || !ae.tls) {
    const e = failure!;
    const { summary, hint } = describeConnectError(ae, e, res.tlsServerName);
    return [{ id: ID, status: 'fail', target: ae.target, summary, hint, details: { error: e, connectedTo: ae.connectedTo, sni: res.tlsServerName } }];
  }
  const t = ae.tls;
  const { certs, error } = parseChain(t.chain);
  const details: Record<string, unknown> = {
    protocol: t.protocol,
    cipher: t.cipher,
    alpn: t.alpn,
    sni: t.servername,
    certificateName: res.certificateName,
    chainAuthorized: t.chainAuthorized,
    chainError: t.chainError,
    sessionReused: t.sessionReused,
    ...(ae.connectedTo ? { connectedTo: ae.connectedTo } : {}),
  };
  const out: Finding[] = [];
  if (t.sessionReused) {
    out.push({
      id: ID, status: 'fail', target: ae.target,
      summary: 'TLS session was RESUMED: the certificate was not validated on this connection — this must never happen',
      hint: 'This is a fedcheck bug (session reuse must be disabled where certificates are judged): please report it with the --save-evidence bundle. The result for this address cannot be trusted.',
      details,
    });
  }
  if (certs.length === 0) {
    out.push({ id: ID, status: 'fail', target: ae.target, summary: error ?? 'the server sent no certificate', hint: 'Configure a certificate (and its chain) on this TLS listener.', details });
    return out;
  }
  const leaf = certs[0]!;
  const daysLeft = wholeDays(leaf.notAfter, now);
  Object.assign(details, {
    subject: leaf.subject,
    issuer: leaf.issuerName,
    names: certNames(leaf),
    notBefore: Number.isFinite(leaf.notBefore) ? new Date(leaf.notBefore).toISOString() : null,
    notAfter: Number.isFinite(leaf.notAfter) ? new Date(leaf.notAfter).toISOString() : null,
    daysLeft,
    chain: certs.map((c) => ({ subject: c.subject, issuer: c.issuerName, notAfter: Number.isFinite(c.notAfter) ? new Date(c.notAfter).toISOString() : null, selfSigned: c.selfSigned, sha256: c.fingerprint256 })),
  });
  if (error) details.chainParseError = error;

  out.push(...trustFindings(ae, certs, t.chainError, details));
  const id = identityFinding(ev, res, ae, leaf, details);
  if (id) out.push(id);
  out.push(...dateFindings(ae, certs, t.chainError, now, details));
  // webpki (rustls: conduwuit, Conduit) gives up on paths with more than 6 intermediates. The
  // evidence keeps at most 20 certificates of a chain.
  const intermediates = certs.slice(1).filter((c) => !c.selfSigned).length;
  if (intermediates > MAX_INTERMEDIATES) {
    out.push({
      id: ID, status: 'warn', target: ae.target,
      summary: `the certificate chain has ${certs.length >= 20 ? 'at least ' : ''}${intermediates} intermediate certificates: homeservers using rustls/webpki (conduwuit, Conduit) accept at most ${MAX_INTERMEDIATES}`,
      hint: 'Serve the leaf certificate and the intermediates of your CA only (certbot: fullchain.pem): a public CA chain has one or two intermediates.',
      details,
    });
  }
  if (isOldProtocol(t.protocol)) {
    out.push({
      id: ID, status: 'warn', target: ae.target,
      summary: `old TLS protocol ${t.protocol} negotiated (TLS 1.2 or newer expected)`,
      hint: 'Enable TLS 1.2 and 1.3 on this listener (nginx: "ssl_protocols TLSv1.2 TLSv1.3;"). Go-based servers (Dendrite, the federation tester) refuse anything older.',
      details,
    });
  }
  if (out.length === 0) {
    out.push({
      id: ID, status: 'pass', target: ae.target,
      summary: `valid certificate for ${res.certificateName} from ${q(leaf.issuerName)}, ${daysLeft} day${daysLeft === 1 ? '' : 's'} left (until ${isoDay(leaf.notAfter)}); ${t.protocol ?? 'TLS'}`,
      details,
    });
  }
  return out;
}

const check: Check = {
  id: ID,
  title: 'Per address: TLS handshake, certificate chain, name and validity dates',
  run(ev) {
    const ctx = addressContext(ev, ID);
    if ('skipped' in ctx) return ctx.skipped;
    return ev.addresses.flatMap((ae) => judgeAddress(ev, ctx.resolution, ae));
  },
};
export default check;
