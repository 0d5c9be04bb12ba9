/**
 * How to fix what the reverse-proxy checks find, per proxy. A hint lists every proxy, leading with
 * the one the `Server` response header (or other fingerprints) names, so the reader sees their own
 * first. The nginx, Apache, Caddy and HAProxy texts are checked against the real proxies by
 * test/proxies; relayd and Traefik texts come from their documentation.
 */

import type { ServerEvidence } from '../core/evidence.js';
import type { CheckId, Finding } from '../core/types.js';
import type { Check } from './types.js';
import type { ProxyEndpointEvidence, ProxyEvidence } from '../probes/proxy.js';

export type ProxyName = 'nginx' | 'apache' | 'caddy' | 'haproxy' | 'traefik' | 'relayd';

export type FixTopic =
  | 'canonicalization'
  | 'encoded-slash-refused'
  | 'xff-missing'
  | 'xff-spoofable'
  | 'xff-proxy-address'
  | 'xfp'
  | 'host'
  | 'http-version'
  | 'upload-limit'
  | 'admin';

export const PROXY_LABEL: Record<ProxyName, string> = {
  nginx: 'nginx',
  apache: 'Apache',
  caddy: 'Caddy',
  haproxy: 'HAProxy',
  traefik: 'Traefik',
  relayd: 'relayd',
};

const ORDER: ProxyName[] = ['nginx', 'apache', 'caddy', 'haproxy', 'traefik', 'relayd'];

export const FIXES: Record<FixTopic, Partial<Record<ProxyName, string>>> = {
  canonicalization: {
    nginx:
      'give proxy_pass no URI part: `proxy_pass http://127.0.0.1:8008;` — nothing after the port, not even "/". With a URI part (or after a `rewrite`, or with $uri in proxy_pass) nginx forwards its decoded, normalised URI.',
    apache:
      'add `nocanon` to each ProxyPass (`ProxyPass /_matrix http://127.0.0.1:8008/_matrix nocanon`) and set `AllowEncodedSlashes NoDecode` in the VirtualHost; do not route /_matrix through mod_rewrite.',
    caddy:
      'use a bare `reverse_proxy /_matrix/* localhost:8008`: no `rewrite`, `uri` or `handle_path` in front of it — they rebuild the request target from the decoded path.',
    haproxy:
      'remove the `http-request normalize-uri …` rules (and set-path/replace-path/set-uri rewrites) from the frontend and backend that carry /_matrix.',
    traefik:
      'attach no path-rewriting middleware (StripPrefix, ReplacePath, ReplacePathRegex) to the Matrix router. Recent Traefik versions also decode unreserved escapes, upper-case hex and remove dot segments and duplicate slashes by default (see "Request Path" in its docs, entry point option `http.sanitizePath`).',
    relayd: 'remove `match request path …` / `match request url …` rules that rewrite /_matrix requests.',
  },
  'encoded-slash-refused': {
    apache:
      'set `AllowEncodedSlashes NoDecode` in the VirtualHost (the default, Off, answers 404 to any %2F in the path) and keep `nocanon` on ProxyPass.',
    nginx: 'nginx passes %2F untouched when proxy_pass has no URI part; look for a `location`/`if` that rejects it.',
    caddy: 'Caddy passes %2F by default; look for a matcher or `respond`/`error` rule that rejects it.',
    haproxy: 'HAProxy passes %2F by default; look for `http-request deny` rules on the path (e.g. matching %2F).',
    traefik:
      'recent Traefik versions reject encoded /, %, ?, # (and \\, ;, NUL) by default: allow them on the entry point or with the EncodedCharacters middleware (`allowEncodedSlash: true`, `allowEncodedPercent: true`, `allowEncodedQuestionMark: true`, `allowEncodedHash: true`).',
  },
  'xff-missing': {
    nginx: 'add `proxy_set_header X-Forwarded-For $remote_addr;` next to proxy_pass.',
    apache: 'mod_proxy adds X-Forwarded-For by default: remove `ProxyAddHeaders Off` (or add `RequestHeader set X-Forwarded-For "%{REMOTE_ADDR}s"`).',
    caddy: 'reverse_proxy sets X-Forwarded-For by default: remove a `header_up -X-Forwarded-For` override.',
    haproxy: 'add `http-request set-header X-Forwarded-For %[src]` to the frontend.',
    traefik: 'Traefik sets X-Forwarded-For by default: check for a Headers middleware that removes it.',
    relayd: 'add `match header set "X-Forwarded-For" value "$REMOTE_ADDR"` to the http protocol.',
  },
  'xff-spoofable': {
    nginx:
      'use `proxy_set_header X-Forwarded-For $remote_addr;` — `$proxy_add_x_forwarded_for` appends to whatever the client sent. (Behind a CDN or load balancer you trust, use the realip module: `set_real_ip_from <its addresses>; real_ip_header X-Forwarded-For;`.)',
    apache:
      'mod_proxy appends the client\'s address to any X-Forwarded-For the client sent; drop the client\'s header first with `RequestHeader unset X-Forwarded-For` in the VirtualHost (mod_proxy then adds the real address).',
    caddy: 'Caddy ignores a client\'s X-Forwarded-For unless the client is in `trusted_proxies`: list only proxies you really run (not `private_ranges` or 0.0.0.0/0 when clients can connect directly).',
    haproxy: 'replace `option forwardfor` (which adds a header after the client\'s) with `http-request set-header X-Forwarded-For %[src]`.',
    traefik: 'list only your own upstream proxies in `forwardedHeaders.trustedIPs` and do not set `forwardedHeaders.insecure`.',
    relayd: 'use `match header set "X-Forwarded-For" value "$REMOTE_ADDR"` (set, not append).',
  },
  'xff-proxy-address': {
    nginx: 'use `proxy_set_header X-Forwarded-For $remote_addr;` (the client), not $server_addr or a fixed value.',
    apache: 'let mod_proxy set it (ProxyAddHeaders On) or `RequestHeader set X-Forwarded-For "%{REMOTE_ADDR}s"`.',
    caddy: 'remove `header_up X-Forwarded-For …` overrides; Caddy sets the client address itself.',
    haproxy: 'use `http-request set-header X-Forwarded-For %[src]` (src is the client).',
    relayd: 'use `match header set "X-Forwarded-For" value "$REMOTE_ADDR"`.',
  },
  xfp: {
    nginx: 'add `proxy_set_header X-Forwarded-Proto $scheme;`.',
    apache: 'add `RequestHeader set "X-Forwarded-Proto" expr=%{REQUEST_SCHEME}` (mod_headers) to the VirtualHost.',
    caddy: 'reverse_proxy sets X-Forwarded-Proto by default: remove a `header_up` override.',
    haproxy: 'add `http-request set-header X-Forwarded-Proto https if { ssl_fc }` to the frontend.',
    traefik: 'Traefik sets X-Forwarded-Proto by default: check for a Headers middleware that changes it.',
    relayd: 'add `match header set "X-Forwarded-Proto" value "https"`.',
  },
  host: {
    nginx: 'add `proxy_set_header Host $host;` (nginx sends the upstream\'s address by default; the deployment docs use `$host:$server_port`).',
    apache: 'add `ProxyPreserveHost on` to the VirtualHost (without it Apache sends the backend\'s address, which can cause redirect loops).',
    caddy: 'Caddy preserves Host by default: remove `header_up Host {upstream_hostport}`.',
    haproxy: 'HAProxy preserves Host by default: remove `http-request set-header Host …` rules.',
    traefik: 'set `passHostHeader: true` on the service (the default).',
  },
  'http-version': {
    nginx: 'add `proxy_http_version 1.1;` — nginx talks HTTP/1.0 to upstreams by default, and homeserver responses may be chunked, an HTTP/1.1 feature.',
    apache: 'remove `SetEnv force-proxy-request-1.0` / `downgrade-1.0` for the Matrix VirtualHost.',
    caddy: 'Caddy talks HTTP/1.1 to upstreams by default: check `transport http { versions … }`.',
    haproxy: 'HAProxy talks HTTP/1.1 to servers by default: check for `option httpclose`/HTTP/1.0 forcing.',
  },
  'upload-limit': {
    nginx: 'set `client_max_body_size 50M;` (or your homeserver\'s max_upload_size) in the server or location — the default is 1M.',
    apache: 'raise `LimitRequestBody` (bytes; the default since 2.4.54 is 1 GiB) in the VirtualHost.',
    caddy: 'raise or remove `request_body { max_size … }`.',
    haproxy: 'HAProxy has no body limit by default: look for `http-request deny` rules on `req.hdr(content-length)` or `req.body_size`.',
    traefik: 'raise `maxRequestBodyBytes` of the Buffering middleware.',
  },
  admin: {
    nginx: 'proxy only what Matrix needs (`location ~ ^(/_matrix|/_synapse/client)`), not `location /`; or `location /_synapse/admin { allow <admin network>; deny all; }`.',
    apache: 'ProxyPass only /_matrix (and /_synapse/client), or `<Location /_synapse/admin> Require ip <admin network> </Location>`.',
    caddy: 'proxy only `/_matrix/*` (and `/_synapse/client/*`), or `respond /_synapse/admin/* 403` before reverse_proxy.',
    haproxy: 'route only `path_beg /_matrix` (and /_synapse/client) to the homeserver, or `http-request deny if { path_beg /_synapse/admin }`.',
    traefik: 'limit the router rule to PathPrefix(`/_matrix`) (and /_synapse/client).',
    relayd: 'pass only `path "/_matrix/*"` to the homeserver and `block` the rest.',
  },
};

/** Which proxy a `Server` header names (null when none is recognisable). */
export function proxyFromServerHeader(server: string | null | undefined): ProxyName | null {
  if (!server) return null;
  const s = server.toLowerCase();
  if (/nginx|openresty|tengine|angie/.test(s)) return 'nginx';
  if (/apache|httpd/.test(s)) return 'apache';
  if (/caddy/.test(s)) return 'caddy';
  if (/haproxy/.test(s)) return 'haproxy';
  if (/traefik/.test(s)) return 'traefik';
  if (/relayd/.test(s)) return 'relayd';
  return null;
}

/**
 * Guess the proxy: the first recognisable `Server` header; otherwise fingerprints in what the
 * backend received (Apache's mod_proxy adds X-Forwarded-Server; HAProxy lower-cases header names).
 */
export function detectProxy(serverHeaders: string[], receivedHeaders?: Array<[string, string]> | null): ProxyName | null {
  for (const s of serverHeaders) {
    const p = proxyFromServerHeader(s);
    if (p) return p;
  }
  if (receivedHeaders && receivedHeaders.length > 0) {
    if (receivedHeaders.some(([k]) => k.toLowerCase() === 'x-forwarded-server')) return 'apache';
    // HAProxy sends no Server header and writes every header name, its own included, in lower case
    const added = receivedHeaders.some(([k]) => k === 'x-forwarded-for' || k === 'x-forwarded-proto');
    if (added && receivedHeaders.every(([k]) => k === k.toLowerCase())) return 'haproxy';
  }
  return null;
}

/** The proxy evidence of a server (`ServerEvidence.extra.proxy`), or why there is none. */
export function proxyEvidenceOf(ev: ServerEvidence): { pe: ProxyEvidence | null; cause: string } {
  const pe = ev.extra?.proxy as ProxyEvidence | undefined;
  if (pe && Array.isArray(pe.endpoints)) return { pe, cause: '' };
  if (ev.discovery && !ev.discovery.resolution) return { pe: null, cause: 'the server name could not be resolved, so there is no endpoint to probe' };
  if (ev.deadlineHit) return { pe: null, cause: 'the deadline was reached before the proxy probes finished' };
  return { pe: null, cause: 'the reverse-proxy probes did not run' };
}

/**
 * The shape shared by the per-endpoint proxy checks (upload-limit, admin-exposure): one finding
 * per probed endpoint, a `skip` naming the cause when there is nothing to judge.
 */
export function perEndpointCheck(id: CheckId, title: string, endpointFinding: (e: ProxyEndpointEvidence) => Finding): { check: Check; judge: (pe: ProxyEvidence) => Finding[] } {
  const judge = (pe: ProxyEvidence): Finding[] => {
    const out = pe.endpoints.map(endpointFinding);
    if (out.length === 0) out.push({ id, status: 'skip', summary: `not run: no endpoint to probe${pe.notes.length ? ` (${pe.notes.join('; ')})` : ''}` });
    return out;
  };
  const check: Check = {
    id,
    title,
    run(ev: ServerEvidence): Finding[] {
      const { pe, cause } = proxyEvidenceOf(ev);
      if (!pe) return [{ id, status: 'skip', summary: `not run: ${cause}` }];
      return judge(pe);
    },
  };
  return { check, judge };
}

/** The proxy detected for an endpoint (Server headers, then what the stand-in received). */
export function detectedProxyOf(e: ProxyEndpointEvidence): ProxyName | null {
  return detectProxy(e.serverHeaders, e.forwarded?.plain.echo?.headers ?? null);
}

/** Short name of an endpoint for summaries. */
export function endpointName(e: ProxyEndpointEvidence): string {
  if (e.role === 'client') return `client base URL ${e.baseUrl ?? e.hostHeader} (${e.target})`;
  if (e.role === 'both') return `${e.hostHeader} (${e.target}, federation and client)`;
  return `federation endpoint ${e.target} (Host ${e.hostHeader})`;
}

/** The command that gives a certain answer in live mode. */
export function standInAdvice(_e: ProxyEndpointEvidence, serverName = '<your server name>'): string {
  return `for a certain answer, put \`fedcheck backend --listen <address:port the proxy forwards to> --server-name ${serverName}\` in the homeserver's place for a moment and check again`;
}

/**
 * The hint for a topic: one line per proxy, the detected one first (marked "(detected)"), the
 * others in a fixed order; then, when given, a last line "Why it matters: …". (Renderers print a
 * hint after "how to fix:", so the fixes come first.)
 */
export function fixHint(topic: FixTopic | FixTopic[], detected: ProxyName | null, why?: string): string {
  const topics = Array.isArray(topic) ? topic : [topic];
  const order = detected ? [detected, ...ORDER.filter((p) => p !== detected)] : ORDER;
  const lines: string[] = [];
  for (const p of order) {
    const texts = topics.map((t) => FIXES[t][p]).filter((x): x is string => !!x);
    if (texts.length === 0) continue;
    const label = p === detected ? `${PROXY_LABEL[p]} (detected)` : PROXY_LABEL[p];
    const joined = [...new Set(texts)].join(' Also: ');
    lines.push(`${label}: ${joined}`);
  }
  if (why) lines.push(`Why it matters: ${why}`);
  return lines.join('\n');
}
