/**
 * An ordinary HTTPS client's GET of an absolute URL, redirects included — the generalisation of
 * `fetchServerWellKnown` (probes/well-known.ts) used for the client-side files and endpoints
 * (spec §2.3, §2.4): normal SNI and Host for each hop, normal X.509 validation judged per hop for
 * that hop's own host, redirects followed up to a limit with loop detection, never to plain http
 * from https. Only gathers: the result has the same shape as a server well-known fetch, so every
 * check reads hops the same way. Everything goes through `fetchUrl` (or a `ConnectionPool`, which
 * routes the same way), so --resolve, --connect-to and --resolver apply.
 */
import * as net from 'node:net';
import type { HttpExchange, NetError } from '../core/types.js';
import { Connection, fetchUrl, header, routeFor, type NetContext, type RequestSpec } from '../net/http.js';
import { x509FromBase64 } from '../net/x509.js';

interface OriginState {
  scheme: 'https' | 'http';
  host: string;
  endpoints: Array<{ address: string; port: number }>;
  routeError: NetError | null;
  /** the endpoint in use; advanced when a connection to it cannot be made */
  index: number;
  conn: Connection | null;
}

/**
 * Several requests to the same origin on one connection (pipelined), as a browser does: the
 * client file, its preflight and the support file share one TLS handshake with the apex, the
 * client API's requests one with the base_url host. Routing is fetchUrl's (--resolve,
 * --connect-to, the run's resolver; addresses tried in order on connection failures). Close it
 * when done.
 */
export class ConnectionPool {
  private readonly origins = new Map<string, Promise<OriginState>>();
  private readonly conns = new Set<Connection>();
  constructor(private readonly ctx: NetContext) {}

  async request(url: URL, spec: Omit<RequestSpec, 'hostHeader' | 'path' | 'url'> = {}): Promise<HttpExchange> {
    const scheme = url.protocol === 'http:' ? 'http' : 'https';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? +url.port : scheme === 'https' ? 443 : 80;
    const key = `${scheme}://${host.toLowerCase()}:${port}`;
    const path = url.pathname + url.search;
    const hostHeader = url.host;
    const t0 = Date.now();
    let st = this.origins.get(key);
    if (!st) {
      st = routeFor(this.ctx, host, port).then((r) => ({ scheme, host, endpoints: r.endpoints, routeError: r.error, index: 0, conn: null }));
      this.origins.set(key, st);
    }
    const state = await st;
    if (state.endpoints.length === 0) {
      return { url: url.href, method: spec.method ?? 'GET', path, hostHeader, connectAddress: '', connectPort: port, tls: null, response: null, error: state.routeError, ms: Date.now() - t0 };
    }
    for (;;) {
      const ep = state.endpoints[Math.min(state.index, state.endpoints.length - 1)]!;
      if (!state.conn) {
        state.conn = new Connection(this.ctx, { scheme, address: ep.address, port: ep.port, servername: scheme === 'https' && !net.isIP(host) ? host : null }, { wholeChain: false });
        this.conns.add(state.conn);
      }
      const conn = state.conn;
      const ex = await conn.request({ ...spec, path, hostHeader, url: url.href });
      // Only connection-level failures move on to the next address, as an HTTPS client does.
      if (!(ex.error && ex.error.phase === 'connect')) {
        ex.ms = Date.now() - t0;
        return ex;
      }
      if (state.conn === conn && state.index < state.endpoints.length) {
        state.index++;
        state.conn = null;
      }
      if (state.index >= state.endpoints.length || this.ctx.deadline - Date.now() <= 0) {
        ex.ms = Date.now() - t0;
        return ex;
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.conns].map((c) => c.close()));
    this.conns.clear();
  }
}

export interface FollowedHop {
  exchange: HttpExchange;
  /** why a homeserver would reject this hop's TLS (untrusted chain, wrong name), null if fine */
  tlsProblem: string | null;
}

/** The result of a (possibly redirected) fetch; the server well-known fetch has the same shape. */
export interface FollowedFetch {
  /** the URL asked first */
  url: string;
  hops: FollowedHop[];
  /**
   * response: the last hop answered (status and body are in the last hop);
   * error: transport/TLS failure on the last hop; redirect-*: redirect handling stopped.
   */
  outcome: 'response' | 'error' | 'redirect-loop' | 'redirect-limit' | 'redirect-insecure' | 'redirect-invalid';
  /** human reason for non-response outcomes */
  reason: string | null;
}

/** Would an ordinary HTTPS client accept this hop's certificate for `host`? */
export function tlsProblemFor(ex: HttpExchange, host: string): string | null {
  if (!ex.tls) return null;
  if (!ex.tls.chainAuthorized) return `certificate chain not trusted (${ex.tls.chainError})`;
  const leaf = ex.tls.chain[0];
  if (!leaf) return 'the server sent no certificate';
  try {
    const cert = x509FromBase64(leaf);
    const ok = net.isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
    if (!ok) return `certificate is not valid for ${host} (it covers ${cert.subjectAltName ?? cert.subject})`;
  } catch (e) {
    return `certificate cannot be parsed (${(e as Error).message})`;
  }
  return null;
}



export interface FollowOptions {
  /** redirects followed before giving up (browsers: 20) */
  maxRedirects: number;
  maxBodyBytes?: number;
  method?: string;
  /** extra request headers (e.g. Origin), sent on every hop */
  headers?: Record<string, string>;
  /** bound on the whole fetch, all hops (default: the step timeout per hop, the run's deadline overall) */
  budgetMs?: number;
  /** share connections with other fetches (default: a fresh connection per request) */
  pool?: ConnectionPool;
  /** what the budget was given to, for the timeout message (default "this fetch") */
  label?: string;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** The final exchange of a fetch, if any. */
export function lastExchange(f: FollowedFetch | null | undefined): HttpExchange | null {
  return f?.hops[f.hops.length - 1]?.exchange ?? null;
}

/** Number of redirects that were followed. */
export function redirectCount(f: FollowedFetch | null | undefined): number {
  return f ? Math.max(0, f.hops.length - 1) : 0;
}

/**
 * GET `first` following redirects. An unparseable `first` gives an `error` outcome with no hops.
 * A plain http:// start is allowed (a base_url may be http); a redirect from https to http is not.
 */
export async function fetchFollowing(ctx: NetContext, first: string, opts: FollowOptions): Promise<FollowedFetch> {
  const hops: FollowedHop[] = [];
  const seen = new Set<string>();
  let url: URL;
  try {
    url = new URL(first);
  } catch {
    return { url: first, hops, outcome: 'error', reason: `${first} is not a URL` };
  }
  const startedSecure = url.protocol === 'https:';
  const until = opts.budgetMs !== undefined ? Date.now() + opts.budgetMs : Infinity;
  for (;;) {
    seen.add(url.href);
    const left = until - Date.now();
    if (left <= 0) {
      const after = hops.length ? ` (after ${hops.length} redirect${hops.length > 1 ? 's' : ''})` : '';
      return { url: first, hops, outcome: 'error', reason: `no answer within the ${Math.round(opts.budgetMs! / 100) / 10} s given to ${opts.label ?? 'this fetch'}${after}` };
    }
    const spec = {
      ...(Number.isFinite(left) ? { timeoutMs: Math.max(1, Math.min(ctx.stepTimeoutMs, left)) } : {}),
      ...(opts.method ? { method: opts.method } : {}),
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    };
    const exchange = opts.pool ? await opts.pool.request(url, spec) : await fetchUrl(ctx, url, spec);
    const tlsProblem = exchange.tls ? tlsProblemFor(exchange, url.hostname.replace(/^\[|\]$/g, '')) : null;
    hops.push({ exchange, tlsProblem });
    if (exchange.error) return { url: first, hops, outcome: 'error', reason: exchange.error.message };
    if (tlsProblem) return { url: first, hops, outcome: 'error', reason: tlsProblem };
    const res = exchange.response!;
    if (!REDIRECT_CODES.has(res.status)) return { url: first, hops, outcome: 'response', reason: null };
    const loc = header(res, 'location');
    if (!loc) return { url: first, hops, outcome: 'redirect-invalid', reason: `${res.status} redirect without a Location header` };
    let next: URL;
    try {
      next = new URL(loc, url);
    } catch {
      return { url: first, hops, outcome: 'redirect-invalid', reason: 'redirect to an unparseable Location' };
    }
    if (next.protocol === 'http:' && (startedSecure || url.protocol === 'https:')) {
      return { url: first, hops, outcome: 'redirect-insecure', reason: `redirected to plain http (${next.origin}): the answer could not be authenticated` };
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      return { url: first, hops, outcome: 'redirect-invalid', reason: `redirected to a non-HTTP scheme (${next.protocol.replace(':', '')})` };
    }
    if (next.username || next.password) {
      return { url: first, hops, outcome: 'redirect-invalid', reason: 'redirect Location carries credentials' };
    }
    if (next.port === '0') return { url: first, hops, outcome: 'redirect-invalid', reason: 'redirected to port 0, where no server can listen' };
    if (seen.has(next.href)) return { url: first, hops, outcome: 'redirect-loop', reason: `redirect loop: ${next.href} was already visited` };
    if (hops.length > opts.maxRedirects) {
      return { url: first, hops, outcome: 'redirect-limit', reason: `more than ${opts.maxRedirects} redirects` };
    }
    url = next;
  }
}
