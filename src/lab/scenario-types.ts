/**
 * The lab's declarative deployments. A scenario names a server, a DNS zone and the hosts that
 * answer on loopback; `startLab()` (lab/deployment.ts) brings it up with a fresh CA and returns
 * the run options (resolver, --connect-to port mappings, CA) to check it with.
 *
 * Every address is on loopback (127.0.0.0/8 or ::1): the lab never sends traffic elsewhere.
 * Hosts "listen" on the port a real deployment would use (443, 8448, …): the lab really binds a
 * random port and maps it with an address-keyed --connect-to, so no root is needed.
 */
import type { Zone } from './dns-server.js';
import type { LabProxyOptions } from './lab-proxy.js';
import type { CheckId, ResolutionMethod, ResolutionTarget, Status } from '../core/types.js';

export interface LabCertSpec {
  /** DNS names in the SAN (default: none) */
  names?: string[];
  /** IP addresses in the SAN */
  ips?: string[];
  expired?: boolean;
  notYetValid?: boolean;
  /** valid, but expires in this many days */
  expiresInDays?: number;
  selfSigned?: boolean;
  /** issued by a CA that the check does not trust */
  untrusted?: boolean;
  /** issued by an intermediate that the server does not send */
  omitIntermediate?: boolean;
  /** the leaf's key (default `ecdsa`, P-256, as Caddy and certbot issue; `rsa`: RSA-2048) */
  keyType?: 'rsa' | 'ecdsa';
}

/** A canned HTTP response. `body` objects are sent as JSON. */
export interface LabResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
  /** shorthand for a 302 to this Location (status overrides) */
  redirect?: string;
}

export interface LabKeyOverrides {
  serverName?: string;
  /** ms relative to now (negative = already expired) */
  validUntilOffsetMs?: number;
  /** sign with a key that is not in verify_keys */
  signWithUnknownKey?: boolean;
  /** change the body after signing */
  tamper?: boolean;
}

export interface LabHomeserverSpec {
  /** the server name it serves keys for */
  serverName: string;
  software?: { name: string; version: string };
  keys?: LabKeyOverrides;
  /** answer /health (default true) */
  health?: boolean;
}

export type LabFault = 'refuse' | 'silent' | 'plain-http-on-tls' | 'reset' | 'tls-stall';

export interface LabHostSpec {
  /** loopback address, e.g. '127.0.0.2' or '::1' */
  address: string;
  /** the port a real deployment would listen on (443, 8448, …) */
  port: number;
  /** certificate to serve; null or absent = plain HTTP */
  tls?: LabCertSpec | null;
  /** path → canned response (exact path match, query included if given) */
  routes?: Record<string, LabResponse>;
  /** a homeserver stand-in behind this host (version, keys, health) */
  homeserver?: LabHomeserverSpec;
  fault?: LabFault;
  /**
   * An exact-match Host rule in front of everything (HAProxy `acl h hdr(host) -i <name>` without
   * the `:443` variant, Synapse PR #11128): a request whose Host header is not one of these
   * (compared case-insensitively, port included) gets 503, as from a proxy with no backend.
   */
  acceptHosts?: string[];
  /**
   * a reverse proxy in front of the stand-in backend (`fedcheck backend`) for this server name,
   * configured as recommended unless the options say otherwise
   */
  proxy?: LabProxyOptions & { serverName: string };
}

export interface ExpectedFinding {
  id: CheckId;
  status: Status;
  target?: string;
  /** a substring the summary must contain */
  summary?: string;
}

export interface ScenarioExpectation {
  ok?: boolean;
  method?: ResolutionMethod | null;
  hostHeader?: string;
  tlsServerName?: string | null;
  delegatedServerName?: string | null;
  targets?: ResolutionTarget[];
  findings?: ExpectedFinding[];
}

export interface Scenario {
  /** kebab-case id for `fedcheck demo <name>` */
  name: string;
  /** one line for `demo --list` */
  title: string;
  /** which issue/area it belongs to, for grouping in --list */
  group: 'healthy' | 'discovery' | 'tls' | 'keys' | 'addresses' | 'proxy' | 'client' | 'compatibility' | 'hostile';
  serverName: string;
  zone: Zone;
  hosts: LabHostSpec[];
  /** what a correct fedcheck reports; the tests assert it */
  expect: ScenarioExpectation;
}
