/**
 * fedcheck's shared vocabulary: findings (what checks return), the report (what renderers
 * print), and the evidence (what probes gather). Probes do I/O and fill Evidence; checks are
 * pure functions Evidence -> Finding[]; renderers turn a Report into text/JSON/JUnit/Markdown.
 *
 * Everything in Evidence must be plain JSON (no Buffers, no class instances) so that an evidence
 * bundle can be saved and judged offline (`--save-evidence` / `fedcheck judge`).
 */

/** Check ids are public (CONTRACT.md): stable once shipped. */
export type CheckId =
  | 'server-name'
  | 'well-known'
  | 'srv'
  | 'dns'
  | 'tls'
  | 'federation-version'
  | 'server-keys'
  | 'health'
  | 'uri-canonicalization'
  | 'forwarded-headers'
  | 'upload-limit'
  | 'admin-exposure'
  | 'client-well-known'
  | 'client-versions'
  | 'cors'
  | 'support-well-known'
  | 'compatibility'
  | 'federation';

export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'info';

/** One result line. `target` (address:port) is present on per-address findings. */
export interface Finding {
  id: CheckId;
  status: Status;
  target?: string;
  summary: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/** The spec step that decided where to connect (spec §1.1). */
export type ResolutionMethod =
  | 'ip-literal'
  | 'explicit-port'
  | 'well-known-ip-literal'
  | 'well-known-explicit-port'
  | 'well-known-srv'
  | 'well-known-srv-legacy'
  | 'well-known-default-port'
  | 'srv'
  | 'srv-legacy'
  | 'default-port';

export interface ResolutionTarget {
  /** host name (SRV target, delegated or server hostname) or an IP literal (no brackets) */
  host: string;
  port: number;
  /** resolved addresses, in the order a homeserver tries them (AAAA before A, as getaddrinfo usually sorts) */
  addresses: string[];
}

export interface Resolution {
  method: ResolutionMethod;
  delegatedServerName: string | null;
  hostHeader: string;
  /** SNI sent; null when the certificate must cover an IP address (no SNI, spec §1.2) */
  tlsServerName: string | null;
  /** the name (hostname or IP) the certificate must be valid for */
  certificateName: string;
  targets: ResolutionTarget[];
}

export interface ServerReport {
  serverName: string;
  /** the name as the user typed it, when it differs (e.g. a Unicode IDN converted to punycode) */
  input?: string;
  ok: boolean;
  resolution: Resolution | null;
  checks: Finding[];
  durationMs?: number;
}

export interface Report {
  schemaVersion: 1;
  ok: boolean;
  tool: { name: 'fedcheck'; version: string };
  generatedAt: string;
  servers: ServerReport[];
}

// ---------------------------------------------------------------------------------------------
// Evidence
// ---------------------------------------------------------------------------------------------

/** An error kept as data. `code` is Node's/undici's code where there is one (ECONNREFUSED, ETIMEOUT...). */
export interface NetError {
  phase: 'dns' | 'connect' | 'tls' | 'http' | 'timeout' | 'size' | 'policy' | 'parse';
  code: string;
  message: string;
}

export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'SRV';

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** target name without trailing dot; '.' itself is kept as '.' (service unavailable) */
  name: string;
}

/** One DNS question and its outcome. */
export interface DnsLookup {
  name: string;
  type: DnsRecordType;
  /**
   * ok: records returned; nodata: name exists, no records of this type (ENODATA);
   * nxdomain: name does not exist (ENOTFOUND); servfail / refused / timeout / error: the lookup
   * itself failed, which is NOT the same as "no record".
   */
  outcome: 'ok' | 'nodata' | 'nxdomain' | 'servfail' | 'refused' | 'timeout' | 'error';
  /** A/AAAA addresses or CNAME targets */
  addresses?: string[];
  srv?: SrvRecord[];
  ttl?: number;
  error?: NetError;
  ms: number;
}

export interface TlsEvidence {
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  /** SNI we sent, null if none */
  servername: string | null;
  /** chain validation against the trust store (identity NOT included: judged by checks) */
  chainAuthorized: boolean;
  chainError: string | null;
  /** peer chain, leaf first, base64 DER */
  chain: string[];
  sessionReused: boolean;
  /**
   * false on connections whose certificate nobody judges (the proxy and compatibility probes):
   * no chain validation, no chain kept — the per-address probe connection carries the verdict.
   * Absent = checked.
   */
  chainChecked?: false;
  /**
   * true: the chain was verified (`chainAuthorized`, `chainError`) but only its leaf is kept in
   * `chain` — the connections of the well-known and client fetches, where what matters is whether
   * an HTTPS client accepts the certificate for the name. The per-address probe connections keep
   * the whole chain, which the tls check judges. Absent = the whole chain.
   */
  chainLeafOnly?: true;
}

export interface HttpResponseEvidence {
  status: number;
  httpVersion: string;
  /** lower-cased header names; repeated headers joined as arrays */
  headers: Record<string, string | string[]>;
  /** body decoded as UTF-8 (replacement chars for invalid bytes), at most the cap */
  body: string;
  bodyBytes: number;
  /** true when the body exceeded the cap and reading stopped */
  truncated: boolean;
}

export interface HttpExchange {
  url: string;
  method: string;
  /** request target exactly as sent */
  path: string;
  hostHeader: string;
  /** where the TCP connection actually went */
  connectAddress: string;
  connectPort: number;
  tls: TlsEvidence | null;
  response: HttpResponseEvidence | null;
  error: NetError | null;
  ms: number;
}
