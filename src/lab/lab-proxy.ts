/**
 * A minimal reverse proxy for the lab, in front of the stand-in backend (src/backend/server.ts),
 * so the demo shows the proxy checks in exact mode. By default it behaves as the recommended
 * configurations do: the request target is forwarded byte for byte, `Host` is preserved,
 * `X-Forwarded-For` is set to the client address (replacing a client-supplied one) and
 * `X-Forwarded-Proto: https` is added. Faults reproduce the classic misconfigurations.
 */
import type http from 'node:http';
import type { BackendLogic } from '../backend/server.js';

export interface LabProxyOptions {
  /** `X-Forwarded-For`: set (recommended), append to the client's, or none */
  xForwardedFor?: 'set' | 'append' | 'none';
  xForwardedProto?: boolean;
  /** forward `Host` as received (default) or replace it with the backend's address */
  preserveHost?: boolean;
  /** decode %xx escapes in the path, as nginx does with a URI part in proxy_pass */
  decodePath?: boolean;
  /** largest request body in bytes (413 above it, judged on Content-Length); default 50 MiB */
  maxBodyBytes?: number;
  /** path prefixes forwarded to the backend (default: /_matrix, /_palpo/client and /health); others get the proxy's own 404 */
  paths?: string[];
}

function decodeOnce(path: string): string {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const rest = q < 0 ? '' : path.slice(q);
  try {
    return decodeURIComponent(p) + rest;
  } catch {
    return path;
  }
}

/** Methods for which Node's HTTP client sends a body chunked when no length is given. */
const NO_DEFAULT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
/** Node's http.request refuses a path with these (ERR_UNESCAPED_CHARACTERS). */
const INVALID_PATH = /[^\u0021-\u00ff]/;

/**
 * The proxy's request handler, forwarding to the stand-in backend's logic (`fedcheck backend`,
 * src/backend/server.ts).
 *
 * The hand-off is in-process: the backend gets the request exactly as Node's HTTP client would
 * have sent it over a loopback hop — the target byte for byte, the headers in the same order
 * (`Connection: keep-alive` / `Transfer-Encoding: chunked` added where Node adds them), HTTP/1.1,
 * the body streamed — and its response goes straight to the client. Only the hop's socket is
 * missing: the backend sees the proxy as 127.0.0.1 port 0. The lab runs every server of a
 * deployment in one process; a real hop doubled the HTTP work of each proxied request, and the
 * benchmark (docs/performance.md) measured that CPU instead of the network. The backend's own
 * listener is tested on its own and behind the real proxies (test/proxies/).
 */
export function labProxyHandler(backend: BackendLogic, o: LabProxyOptions = {}): http.RequestListener {
  const max = o.maxBodyBytes ?? 50 * 1024 * 1024;
  const prefixes = o.paths ?? ['/_matrix', '/_palpo/client', '/health'];
  return (req, res) => {
    const target = req.url ?? '/';
    if (!prefixes.some((p) => target === p || target.startsWith(p + '/') || target.startsWith(p + '?'))) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><h1>404 Not Found</h1></body></html>');
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      res.writeHead(413, { 'content-type': 'text/html', connection: 'close' });
      res.end('<html><body>413 Request Entity Too Large</body></html>');
      req.resume();
      return;
    }
    const headers: http.IncomingHttpHeaders = { ...req.headers };
    const client = req.socket.remoteAddress ?? '';
    const xff = o.xForwardedFor ?? 'set';
    if (xff === 'set') headers['x-forwarded-for'] = client;
    else if (xff === 'append') headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
    if (o.xForwardedProto ?? true) headers['x-forwarded-proto'] = 'https';
    if (o.preserveHost === false) headers.host = '127.0.0.1:8008'; // the upstream's address, as `proxy_pass http://127.0.0.1:8008` sends it
    delete headers['expect'];
    const path = o.decodePath ? decodeOnce(req.url ?? '/') : req.url ?? '/';
    if (INVALID_PATH.test(path)) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bad request');
      req.resume();
      return;
    }
    const method = req.method ?? 'GET';
    // the head Node's client would write: the object's entries in order, arrays one line each
    const rawHeaders: string[] = [];
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) rawHeaders.push(k, one);
    }
    if (headers.connection === undefined) rawHeaders.push('Connection', 'keep-alive');
    if (!NO_DEFAULT_BODY.has(method) && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) rawHeaders.push('Transfer-Encoding', 'chunked');
    try {
      backend.handle({ url: path, method, httpVersion: '1.1', rawHeaders, headers, remoteAddress: '127.0.0.1', remotePort: 0, body: req }, res);
    } catch {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    }
  };
}
