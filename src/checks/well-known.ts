/**
 * `well-known`: /.well-known/matrix/server (spec §1 step 3, Synapse §4.2). Absence is not a
 * failure — SRV or port 8448 may be how the server is meant to be found — but a file that exists
 * and is broken, or that cannot be fetched securely, is what admins most often get wrong.
 */
import type { Finding, Status } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { cacheLifetime, formatDuration } from '../core/well-known.js';
import { quote, sanitize } from '../core/sanitize.js';
import { header } from '../net/http.js';
import { isServerNameError } from '../core/server-name.js';

const check: Check = {
  id: 'well-known',
  title: '/.well-known/matrix/server delegates correctly, or is cleanly absent',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip('well-known', 'the server name is invalid')];
    const d = ev.discovery;
    if (!d) return [skip('well-known', 'discovery did not run')];
    const wk = d.wellKnown;
    if (!wk) {
      const why = d.parsed.hostKind !== 'dns' ? 'the server name is an IP literal (spec step 1)' : 'the server name has an explicit port (spec step 2)';
      return [{ id: 'well-known', status: 'info', summary: `not consulted: ${why}` }];
    }
    const hops = wk.hops.map((h) => h.exchange);
    const last = hops[hops.length - 1];
    const redirects = hops.slice(0, -1).map((h) => `${h.response?.status} ${h.url}`);
    const details: Record<string, unknown> = { url: wk.url, hops: hops.map((h) => ({ url: h.url, status: h.response?.status ?? null, error: h.error?.message ?? null })) };
    // After redirects, say where the last hop went: a redirect may point at another host or port.
    const via = redirects.length ? ` (after ${redirects.length} redirect${redirects.length > 1 ? 's' : ''}, at ${sanitize(last?.url ?? '', 200)})` : '';
    const f = (status: Status, summary: string, hint?: string): Finding[] => [{ id: 'well-known', status, summary, ...(hint ? { hint } : {}), details }];
    const fallthrough = 'a homeserver falls back to SRV records and then port 8448';

    if (wk.outcome !== 'response') {
      if (wk.outcome === 'error') {
        const e = last?.error;
        if (e && (e.phase === 'dns' || e.phase === 'connect')) {
          return f('info', `no HTTPS server answered for ${wk.url}${via} (${e.message}); ${fallthrough}`,
            'Fine if you do not delegate. To delegate, serve {"m.server": "matrix.example.com:443"} at this URL over HTTPS.');
        }
        const tlsProblem = wk.hops[wk.hops.length - 1]?.tlsProblem;
        if (tlsProblem) {
          return f('fail', `${wk.url}${via} cannot be fetched securely: ${tlsProblem}; ${fallthrough}`,
            'The well-known is fetched with ordinary certificate checks for the server name itself: serve it with a certificate from a public CA that covers this hostname (e.g. Let\'s Encrypt), including the intermediate certificate.');
        }
        return f('warn', `${wk.url}${via} failed: ${e?.message ?? wk.reason}; ${fallthrough}`,
          'If you delegate with this file, make sure the HTTPS server at this hostname answers it; otherwise remove it.');
      }
      const hint = wk.outcome === 'redirect-insecure'
        ? 'Serve the file over HTTPS without redirecting to http://; if the apex redirects elsewhere, exempt /.well-known/matrix/ from the redirect.'
        : wk.outcome === 'redirect-loop'
          ? 'Break the redirect loop: serve /.well-known/matrix/server directly with a 200 and a JSON body.'
          : 'Serve /.well-known/matrix/server directly (or through few redirects) with a 200 and a JSON body.';
      return f('fail', `${wk.url}: ${wk.reason}; ${fallthrough}`, hint);
    }

    const res = last!.response!;
    const v = wk.verdict!;
    details.status = res.status;
    details.contentType = header(res, 'content-type') ?? null;
    const lifetime = cacheLifetime(res.headers, { valid: v.valid || v.synapse === 'no-delegation' || v.synapse === 'uses-verbatim', now: ev.collectedAt });
    details.cache = { seconds: lifetime.seconds, source: lifetime.source, explanation: lifetime.explanation, spec: lifetime.spec.summary, notes: lifetime.notes };
    const cacheNote = `cached by Synapse for ${formatDuration(lifetime.seconds)}`;

    if (v.valid) {
      const ct = v.contentTypeWarning;
      const dups = topLevelKeyCount(res.body, 'm.server');
      if (dups > 1) {
        return f('warn', `delegates to ${v.mServer.serverName}${via}, but the JSON has "m.server" ${dups === 2 ? 'twice' : `${dups} times`}: homeservers (Python, Go and serde_json parsers) use the last value, other JSON parsers may use the first; ${cacheNote}`,
          'Serve exactly one "m.server" key: duplicate keys make the file mean different things to different parsers (RFC 8259 leaves it undefined).');
      }
      const summary = `delegates to ${v.mServer.serverName}${via}; ${cacheNote}${ct ? `; ${ct}` : ''}`;
      return f(ct ? 'warn' : 'pass', summary, ct ? 'Send the file with "Content-Type: application/json" (homeservers parse it anyway; some tools and browsers do not).' : undefined);
    }
    details.problem = v.problem;
    if (v.problem === 'not-200' && res.status === 404) {
      return f('info', `no delegation: ${wk.url} answered 404${via}; ${fallthrough}`);
    }
    if (v.problem === 'server-error' || v.problem === 'not-200') {
      return f('warn', `${wk.url} answered ${res.status}${via}: ${v.reason}; ${fallthrough}`,
        'Only a 200 response counts. Return 200 with {"m.server": "…"} to delegate, or 404 if you do not.');
    }
    const suggestion = v.delegated?.suggestion ? ` Did you mean ${quote(v.delegated.suggestion)}?` : '';
    return f('fail', `${wk.url}${via} is invalid: ${v.reason}; ${fallthrough}`,
      `Serve a JSON object such as {"m.server": "matrix.example.com:443"} — a hostname with an optional port, no scheme or path.${suggestion}`);
  },
};
export default check;

/**
 * How often `key` occurs among the keys of the top-level JSON object in `text` (JSON.parse keeps
 * only the last of duplicates, so they are counted on the text). Linear, no recursion; only
 * meaningful for text that JSON.parse accepted.
 */
export function topLevelKeyCount(text: string, key: string): number {
  let depth = 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (text[k] === ':') {
          try {
            if (JSON.parse(text.slice(i, j + 1)) === key) count++;
          } catch {
            /* not a string literal after all */
          }
        }
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return count;
}
