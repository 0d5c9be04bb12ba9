/**
 * Fetch `https://<hostname>/.well-known/matrix/server` as a homeserver does (spec §1 step 3,
 * Synapse §4.2): normal HTTPS on 443 with X.509 validation for the hostname, redirects followed
 * up to a limit with loop detection, body capped at 50 KiB. Only gathers; the verdict on the
 * body (valid m.server or fall through) is made by the pure parser in core/well-known.ts.
 */
import * as net from 'node:net';
import type { HttpExchange } from '../core/types.js';
import { x509FromBase64 } from '../net/x509.js';
import { fetchUrl, header, type Connection, type NetContext } from '../net/http.js';

export const WELL_KNOWN_MAX_BYTES = 50 * 1024;
/** Synapse's RedirectAgent limit (spec §4.2). */
export const MAX_REDIRECTS = 20;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export interface WellKnownHop {
  exchange: HttpExchange;
  /** why a homeserver would reject this hop's TLS (untrusted chain, wrong name), null if fine */
  tlsProblem: string | null;
}

export interface WellKnownFetch {
  /** the URL asked first */
  url: string;
  hops: WellKnownHop[];
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

/**
 * Redirect policy (issue 8, "never wander"): an https redirect is followed wherever it points —
 * another host, an address literal, another port — with ordinary X.509 validation for the new
 * host, because the spec says "follow 30x redirects" and Synapse (Twisted's RedirectAgent) does
 * exactly that; refusing, say, ports other than 443 would protect nothing (m.server and SRV
 * records may name any host and port anyway, and every connection starts with a TLS handshake,
 * so no plaintext request can be smuggled to a non-TLS service) while misreporting what a
 * homeserver does. Not followed, and reported: plain http (unauthenticated), any other scheme
 * (ftp:, file:, javascript:…), credentials in the URL, port 0, loops, more than MAX_REDIRECTS.
 *
 * `budgetMs` bounds the whole fetch (all hops): a silent web server at the apex must not eat the
 * time the rest of the run needs to report on the fallback steps.
 */
export async function fetchServerWellKnown(ctx: NetContext, hostname: string, budgetMs = ctx.stepTimeoutMs): Promise<WellKnownFetch> {
  const until = Date.now() + budgetMs;
  const first = `https://${hostname}/.well-known/matrix/server`;
  const hops: WellKnownHop[] = [];
  const seen = new Set<string>();
  let url = new URL(first);
  const pool = new Map<string, Connection>();
  try {
    return await follow();
  } finally {
    for (const c of pool.values()) void c.close();
  }
  async function follow(): Promise<WellKnownFetch> {
    for (;;) {
      seen.add(url.href);
      const left = until - Date.now();
      if (left <= 0) return { url: first, hops, outcome: 'error', reason: `no answer within the ${Math.round(budgetMs / 100) / 10} s given to the well-known${hops.length ? ` (after ${hops.length} redirect${hops.length > 1 ? 's' : ''})` : ''}` };
      const exchange = await fetchUrl(ctx, url, { maxBodyBytes: WELL_KNOWN_MAX_BYTES, timeoutMs: Math.min(ctx.stepTimeoutMs, left) }, pool);
      const tlsProblem = exchange.response || exchange.tls ? tlsProblemFor(exchange, url.hostname.replace(/^\[|\]$/g, '')) : null;
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
      if (next.protocol === 'http:') {
        return { url: first, hops, outcome: 'redirect-insecure', reason: `redirected to plain http (${next.origin}): the answer could not be authenticated` };
      }
      if (next.protocol !== 'https:') {
        return { url: first, hops, outcome: 'redirect-invalid', reason: `redirected to a non-HTTPS scheme (${next.protocol.replace(':', '')})` };
      }
      if (next.username || next.password) {
        return { url: first, hops, outcome: 'redirect-invalid', reason: 'redirect Location carries credentials' };
      }
      if (next.port === '0') return { url: first, hops, outcome: 'redirect-invalid', reason: 'redirected to port 0, where no server can listen' };
      if (seen.has(next.href)) return { url: first, hops, outcome: 'redirect-loop', reason: `redirect loop: ${next.href} was already visited` };
      if (hops.length > MAX_REDIRECTS) {
        return { url: first, hops, outcome: 'redirect-limit', reason: `more than ${MAX_REDIRECTS} redirects` };
      }
      url = next;
    }
  }
}
