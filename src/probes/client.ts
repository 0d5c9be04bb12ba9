/**
 * Client discovery as a browser client (Element Web) does it (spec §2.3, §2.4), gathered as
 * evidence. Three gatherers:
 *
 * - `client` (start, concurrently with federation discovery):
 *     GET     https://<hostname>/.well-known/matrix/client      (Origin sent, redirects followed)
 *     OPTIONS https://<hostname>/.well-known/matrix/client      (a real CORS preflight)
 *     GET     https://<hostname>/.well-known/matrix/support
 *   then, from the file's base_url (which may have its own host and port):
 *     GET     <base_url>/_matrix/client/versions                (Origin sent)
 *     OPTIONS <base_url>/_matrix/client/versions                (preflight)
 *     GET     <identity base_url>/_matrix/identity/v2           (when m.identity_server is present)
 * - `client-copies` (resolved): the same files served by the "matrix host" — the delegated
 *   m.server host and the base_url host, when they differ from <hostname> — to compare copies.
 *   It waits only for the `client` gatherer's base_url (same run), not for its later fetches.
 * - `compatibility` (resolved): the federation version endpoint asked with the Host header that
 *   conduwuit and Conduit send when it differs from the spec's (spec §6), per address.
 *
 * hostname = the server name without its port (the client request always goes to 443). Every
 * request is routed as fetchUrl routes (a ConnectionPool, or a Connection mapped like the per-
 * address probes), so --resolve, --connect-to and --resolver apply.
 * The evidence is plain JSON.
 */
import * as net from 'node:net';
import type { HttpExchange } from '../core/types.js';
import type { ParsedServerName } from '../core/server-name.js';
import { formatHostPort } from '../core/server-name.js';
import { hostForUrl, Connection, type NetContext } from '../net/http.js';
import {
  CLIENT_FILE_MAX_BYTES,
  CLIENT_MAX_REDIRECTS,
  CLIENT_ORIGIN,
  joinBase,
  parseClientWellKnown,
} from '../core/client-discovery.js';
import { ConnectionPool, fetchFollowing, lastExchange, type FollowedFetch } from './follow.js';
import type { Gatherer, GatherContext } from './gatherers.js';
import type { DiscoveryEvidence } from './resolve.js';
import { formatTarget } from './address.js';
import { WELL_KNOWN_MAX_BYTES } from './well-known.js';

export const PREFLIGHT_HEADERS: Record<string, string> = {
  origin: CLIENT_ORIGIN,
  'access-control-request-method': 'GET',
  'access-control-request-headers': 'authorization',
};

export interface ClientEvidence {
  /** the server name's hostname (IPv6 without brackets) */
  hostname: string;
  /** the Origin sent with the GETs and preflights */
  origin: string;
  /** GET https://<hostname>/.well-known/matrix/client */
  wellKnown: FollowedFetch;
  /** OPTIONS preflight on the same URL (not redirected: browsers never follow a preflight redirect) */
  wellKnownPreflight: HttpExchange;
  /** m.homeserver.base_url as the file gave it, normalised; null when unusable or absent */
  baseUrl: string | null;
  /** GET <base_url>/_matrix/client/versions; null when there was no usable base_url */
  versions: FollowedFetch | null;
  versionsPreflight: HttpExchange | null;
  /** m.identity_server validation, when the file names one with a usable base_url */
  identity: { baseUrl: string; fetch: FollowedFetch } | null;
  /** GET https://<hostname>/.well-known/matrix/support */
  support: FollowedFetch;
}

export interface ClientCopy {
  /** a host other than the server name's that serves the well-known files */
  host: string;
  /** why it was asked: it is the delegated m.server host and/or the client base_url host */
  roles: Array<'m.server' | 'base_url'>;
  server: FollowedFetch;
  client: FollowedFetch;
  support: FollowedFetch;
}

export interface ClientCopiesEvidence {
  hostname: string;
  copies: ClientCopy[];
}

export interface AltHostProbe {
  /** logical address:port as in AddressEvidence.target */
  target: string;
  exchange: HttpExchange;
}

export interface CompatibilityEvidence {
  /** the Host header the spec (and Synapse, Dendrite) send */
  specHost: string;
  /** the Host header conduwuit and Conduit send instead (spec §6), null when the same */
  conduwuitHost: string | null;
  /** GET /_matrix/federation/v1/version with conduwuitHost, per address */
  probes: AltHostProbe[];
}

/**
 * The client file's base_url per run, settled as soon as the file is parsed: `client-copies`
 * needs only that, not the versions/identity fetches after it (waiting for the whole `client`
 * gatherer put two more round trips after them on the run's critical path; docs/performance.md).
 */
const baseUrls = new WeakMap<NetContext, Promise<string | null>>();

/**
 * The client base_url (normalised: no trailing slash) that the `client` gatherer of this run
 * found, for other gatherers that need it without fetching the file again; null when there is
 * none, undefined when the `client` gatherer did not start for this run.
 */
export function clientBaseUrlOf(ctx: NetContext): Promise<string | null> | undefined {
  return baseUrls.get(ctx);
}

/**
 * The connection pool the `client` and `client-copies` gatherers of one run share while both are
 * running (the base_url host is usually the delegated host: one handshake for both). Reference
 * counted: the last user closes it; a later user opens a fresh one.
 */
const pools = new WeakMap<NetContext, { pool: ConnectionPool; users: number }>();

async function withPool<T>(ctx: NetContext, f: (pool: ConnectionPool) => Promise<T>): Promise<T> {
  let entry = pools.get(ctx);
  if (!entry) {
    entry = { pool: new ConnectionPool(ctx), users: 0 };
    pools.set(ctx, entry);
  }
  entry.users++;
  try {
    return await f(entry.pool);
  } finally {
    if (--entry.users === 0) {
      if (pools.get(ctx) === entry) pools.delete(ctx);
      await entry.pool.close();
    }
  }
}

function wellKnownUrl(hostname: string, file: string): string {
  return `https://${hostForUrl(hostname)}/.well-known/matrix/${file}`;
}

/**
 * Time for one stage of these gatherers: 40 % of what is left before the run's deadline (at
 * least 0.5 s). The run waits for every gatherer, so a silent web server must not hold it to
 * the deadline: the federation findings come first.
 */
export function stageBudget(ctx: NetContext): number {
  return Math.max(500, Math.floor((ctx.deadline - Date.now()) * 0.4));
}

async function preflight(ctx: NetContext, pool: ConnectionPool, url: string, budgetMs: number): Promise<HttpExchange> {
  return pool.request(new URL(url), { method: 'OPTIONS', headers: PREFLIGHT_HEADERS, maxBodyBytes: 4096, timeoutMs: Math.max(1, Math.min(ctx.stepTimeoutMs, budgetMs)) });
}

function getUrl(ctx: NetContext, pool: ConnectionPool, url: string, budgetMs: number, maxBodyBytes = CLIENT_FILE_MAX_BYTES): Promise<FollowedFetch> {
  return fetchFollowing(ctx, url, { maxRedirects: CLIENT_MAX_REDIRECTS, maxBodyBytes, headers: { origin: CLIENT_ORIGIN }, budgetMs, pool });
}

function getFile(ctx: NetContext, pool: ConnectionPool, hostname: string, file: string, budgetMs: number, maxBodyBytes = CLIENT_FILE_MAX_BYTES): Promise<FollowedFetch> {
  return getUrl(ctx, pool, wellKnownUrl(hostname, file), budgetMs, maxBodyBytes);
}

export async function gatherClient(ctx: NetContext, parsed: ParsedServerName, onBaseUrl?: (baseUrl: string | null) => void): Promise<ClientEvidence> {
  // One connection per origin for all of these requests, as a browser would.
  return withPool(ctx, (pool) => gatherClientWith(ctx, pool, parsed, onBaseUrl));
}

async function gatherClientWith(ctx: NetContext, pool: ConnectionPool, parsed: ParsedServerName, onBaseUrl?: (baseUrl: string | null) => void): Promise<ClientEvidence> {
  const hostname = parsed.host;
  const wkUrl = wellKnownUrl(hostname, 'client');
  const budget = stageBudget(ctx);
  const [wellKnown, wellKnownPreflight, support] = await Promise.all([
    getFile(ctx, pool, hostname, 'client', budget),
    preflight(ctx, pool, wkUrl, budget),
    getFile(ctx, pool, hostname, 'support', budget),
  ]);
  const ev: ClientEvidence = { hostname, origin: CLIENT_ORIGIN, wellKnown, wellKnownPreflight, baseUrl: null, versions: null, versionsPreflight: null, identity: null, support };
  const last = lastExchange(wellKnown);
  if (wellKnown.outcome !== 'response' || !last?.response) {
    onBaseUrl?.(null);
    return ev;
  }
  const verdict = parseClientWellKnown(last.response);
  ev.baseUrl = verdict.baseUrl;
  onBaseUrl?.(ev.baseUrl);
  const jobs: Array<Promise<unknown>> = [];
  // The last stage: nothing waits for it but the report, so it may use most of what is left
  // (a slow client API under load must not read as a broken one).
  const next = Math.max(500, Math.floor((ctx.deadline - Date.now()) * 0.8));
  if (verdict.baseUrl) {
    const versionsUrl = joinBase(verdict.baseUrl, '/_matrix/client/versions');
    jobs.push(getUrl(ctx, pool, versionsUrl, next).then((f) => (ev.versions = f)));
    jobs.push(preflight(ctx, pool, versionsUrl, next).then((x) => (ev.versionsPreflight = x)));
  }
  if (verdict.identityBaseUrl) {
    const idBase = verdict.identityBaseUrl;
    jobs.push(getUrl(ctx, pool, joinBase(idBase, '/_matrix/identity/v2'), next).then((f) => (ev.identity = { baseUrl: idBase, fetch: f })));
  }
  await Promise.all(jobs);
  return ev;
}

/** The hosts that should serve the same files as the server name's hostname. */
function copyHosts(hostname: string, discovery: DiscoveryEvidence | undefined, client: { baseUrl: string | null } | null): Map<string, Array<'m.server' | 'base_url'>> {
  const hosts = new Map<string, Array<'m.server' | 'base_url'>>();
  const add = (h: string, role: 'm.server' | 'base_url') => {
    const k = h.toLowerCase().replace(/^\[|\]$/g, '');
    if (k === hostname.toLowerCase()) return;
    const roles = hosts.get(k) ?? [];
    if (!roles.includes(role)) roles.push(role);
    hosts.set(k, roles);
  };
  const v = discovery?.wellKnown?.verdict;
  if (v && v.valid && v.mServer.hostKind === 'dns') add(v.mServer.host, 'm.server');
  if (client?.baseUrl) {
    try {
      const u = new URL(client.baseUrl);
      if (!net.isIP(u.hostname.replace(/^\[|\]$/g, ''))) add(u.hostname, 'base_url');
    } catch {
      /* not a URL: nothing to compare */
    }
  }
  return hosts;
}

export async function gatherClientCopies(ctx: NetContext, parsed: ParsedServerName, discovery: DiscoveryEvidence | undefined): Promise<ClientCopiesEvidence> {
  const baseUrl = (await baseUrls.get(ctx)) ?? null;
  const hosts = copyHosts(parsed.host, discovery, { baseUrl });
  const budget = stageBudget(ctx);
  return withPool(ctx, async (pool) => {
    const copies = await Promise.all(
      [...hosts].slice(0, 3).map(async ([host, roles]): Promise<ClientCopy> => {
        const [server, clientFile, support] = await Promise.all([
          getFile(ctx, pool, host, 'server', budget, WELL_KNOWN_MAX_BYTES),
          getFile(ctx, pool, host, 'client', budget),
          getFile(ctx, pool, host, 'support', budget),
        ]);
        return { host, roles, server, client: clientFile, support };
      }),
    );
    return { hostname: parsed.host, copies };
  });
}

/**
 * The Host header conduwuit and Conduit send (spec §6, inferred from their URL building): the
 * URL normalisation drops a default :443, the SRV / 8448 paths put the port into the URL, and an
 * IP literal without port becomes `IP:8448`.
 */
export function conduwuitHostFor(discovery: DiscoveryEvidence): string | null {
  const r = discovery.resolution;
  if (!r) return null;
  const spec = r.hostHeader;
  let host: string;
  let port: number | null;
  switch (r.method) {
    case 'ip-literal':
    case 'well-known-ip-literal':
    case 'explicit-port':
    case 'well-known-explicit-port': {
      const t = r.targets[0];
      if (!t) return null;
      host = r.method === 'ip-literal' || r.method === 'well-known-ip-literal' ? t.host : r.certificateName;
      port = t.port;
      break;
    }
    default: {
      // SRV / 8448 paths: conduwuit and Conduit use only the first record.
      const t = r.targets[0];
      if (!t) return null;
      host = r.certificateName;
      port = t.port;
    }
  }
  const kind = net.isIPv6(host) ? 'ipv6' : net.isIPv4(host) ? 'ipv4' : 'dns';
  const alt = formatHostPort(host, kind, port === 443 ? null : port);
  return alt === spec ? null : alt;
}

export async function gatherCompatibility(ctx: NetContext, discovery: DiscoveryEvidence | undefined): Promise<CompatibilityEvidence | null> {
  const r = discovery?.resolution;
  if (!discovery || !r) return null;
  const alt = conduwuitHostFor(discovery);
  const ev: CompatibilityEvidence = { specHost: r.hostHeader, conduwuitHost: alt, probes: [] };
  if (!alt) return ev;
  const jobs: Array<Promise<AltHostProbe>> = [];
  const seen = new Set<string>();
  // conduwuit/Conduit connect to the first target only; probe its addresses (bounded).
  const t = r.targets[0]!;
  const budget = Math.min(ctx.stepTimeoutMs, stageBudget(ctx));
  for (const address of t.addresses.slice(0, 4)) {
    const target = formatTarget(address, t.port);
    if (seen.has(target)) continue;
    seen.add(target);
    jobs.push((async () => {
      const mapped = ctx.connectMap.byAddress(address, t.port);
      const endpoint = {
        scheme: 'https' as const,
        address: mapped && net.isIP(mapped.host) ? mapped.host : address,
        port: mapped ? mapped.port : t.port,
        servername: r.tlsServerName,
      };
      // The per-address probe's connection to this address (same endpoint, same SNI), this
      // request queued behind its three; a connection of its own when there is none.
      const shared = ctx.share?.borrow(endpoint) ?? null;
      const conn = shared ?? new Connection(ctx, endpoint, { checkCertificate: false });
      try {
        const exchange = await conn.request({ path: '/_matrix/federation/v1/version', hostHeader: alt, url: `https://${alt}/_matrix/federation/v1/version`, maxBodyBytes: 4096, timeoutMs: budget });
        return { target, exchange };
      } finally {
        await (shared ? ctx.share!.release(shared) : conn.close());
      }
    })());
  }
  ev.probes = await Promise.all(jobs);
  return ev;
}

export const clientGatherer: Gatherer = {
  name: 'client',
  when: 'start',
  run(g: GatherContext) {
    let settle!: (baseUrl: string | null) => void;
    baseUrls.set(g.net, new Promise<string | null>((r) => (settle = r)));
    const p = gatherClient(g.net, g.parsed, settle);
    p.catch(() => undefined).finally(() => settle(null)); // no-op once settled
    return safe(p);
  },
};

export const clientCopiesGatherer: Gatherer = {
  name: 'client-copies',
  when: 'resolved',
  run: (g: GatherContext) => safe(gatherClientCopies(g.net, g.parsed, g.discovery)),
};

export const compatibilityGatherer: Gatherer = {
  name: 'compatibility',
  when: 'resolved',
  run: (g: GatherContext) => safe(gatherCompatibility(g.net, g.discovery)),
};

/** A gatherer must never reject (the run awaits them all): a bug becomes `{ probeError }` evidence. */
function safe<T>(p: Promise<T>): Promise<T | { probeError: string }> {
  return p.catch((e: unknown) => ({ probeError: e instanceof Error ? e.message : String(e) }));
}
