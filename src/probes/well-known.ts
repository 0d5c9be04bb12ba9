/**
 * Fetch `https://<hostname>/.well-known/matrix/server` as a homeserver does (spec §1 step 3,
 * Synapse §4.2): normal HTTPS on 443 with X.509 validation for the hostname, redirects followed
 * up to a limit with loop detection, body capped at 50 KiB. Only gathers; the verdict on the
 * body (valid m.server or fall through) is made by the pure parser in core/well-known.ts.
 */
import type { NetContext } from '../net/http.js';
import { ConnectionPool, fetchFollowing, tlsProblemFor, type FollowedFetch, type FollowedHop } from './follow.js';

export const WELL_KNOWN_MAX_BYTES = 50 * 1024;
/** Synapse's RedirectAgent limit (spec §4.2). */
export const MAX_REDIRECTS = 20;

export type WellKnownHop = FollowedHop;
export type WellKnownFetch = FollowedFetch;
export { tlsProblemFor };

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
  // Redirects to the same origin reuse one connection (as an HTTPS client's pool does).
  const pool = new ConnectionPool(ctx);
  try {
    return await fetchFollowing(ctx, `https://${hostname}/.well-known/matrix/server`, {
      maxRedirects: MAX_REDIRECTS,
      maxBodyBytes: WELL_KNOWN_MAX_BYTES,
      budgetMs,
      pool,
      label: 'the well-known',
    });
  } finally {
    void pool.close();
  }
}
