/**
 * An ordinary HTTPS client's GET of an absolute URL, redirects included — the generalisation of
 * `fetchServerWellKnown` (probes/well-known.ts) used for the client-side files and endpoints
 * (spec §2.3, §2.4): normal SNI and Host for each hop, normal X.509 validation judged per hop for
 * that hop's own host, redirects followed up to a limit with loop detection, never to plain http
 * from https. Only gathers: the result has the same shape as a server well-known fetch, so every
 * check reads hops the same way. Everything goes through `fetchUrl`, so --resolve, --connect-to
 * and --resolver apply.
 */
import type { HttpExchange } from '../core/types.js';
import { fetchUrl, header, type NetContext } from '../net/http.js';
import { tlsProblemFor, type WellKnownFetch, type WellKnownHop } from './well-known.js';

/** The result of a (possibly redirected) fetch: the same shape as a server well-known fetch. */
export type FollowedFetch = WellKnownFetch;
export type FollowedHop = WellKnownHop;

export interface FollowOptions {
  /** redirects followed before giving up (browsers: 20) */
  maxRedirects: number;
  maxBodyBytes?: number;
  method?: string;
  /** extra request headers (e.g. Origin), sent on every hop */
  headers?: Record<string, string>;
  /** bound on the whole fetch, all hops (default: the step timeout per hop, the run's deadline overall) */
  budgetMs?: number;
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
  const hops: WellKnownHop[] = [];
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
    if (left <= 0) return { url: first, hops, outcome: 'error', reason: `no answer within the ${Math.round(opts.budgetMs! / 100) / 10} s given to this fetch` };
    const exchange = await fetchUrl(ctx, url, {
      ...(Number.isFinite(left) ? { timeoutMs: Math.max(1, Math.min(ctx.stepTimeoutMs, left)) } : {}),
      ...(opts.method ? { method: opts.method } : {}),
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    });
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
    if (seen.has(next.href)) return { url: first, hops, outcome: 'redirect-loop', reason: `redirect loop: ${next.href} was already visited` };
    if (hops.length > opts.maxRedirects) {
      return { url: first, hops, outcome: 'redirect-limit', reason: `more than ${opts.maxRedirects} redirects` };
    }
    url = next;
  }
}
