/**
 * A minimal reverse proxy for the lab, in front of the stand-in backend (src/backend/server.ts),
 * so the demo shows the proxy checks in exact mode. By default it behaves as the recommended
 * configurations do: the request target is forwarded byte for byte, `Host` is preserved,
 * `X-Forwarded-For` is set to the client address (replacing a client-supplied one) and
 * `X-Forwarded-Proto: https` is added. Faults reproduce the classic misconfigurations.
 */
import http from 'node:http';

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

export function labProxyHandler(backendUrl: string, o: LabProxyOptions = {}): http.RequestListener {
  const backend = new URL(backendUrl);
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
    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    const client = req.socket.remoteAddress ?? '';
    const xff = o.xForwardedFor ?? 'set';
    if (xff === 'set') headers['x-forwarded-for'] = client;
    else if (xff === 'append') headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
    if (o.xForwardedProto ?? true) headers['x-forwarded-proto'] = 'https';
    if (o.preserveHost === false) headers.host = backend.host;
    delete headers['expect'];
    const path = o.decodePath ? decodeOnce(req.url ?? '/') : req.url ?? '/';
    let up: http.ClientRequest;
    try {
      up = http.request({ host: backend.hostname, port: backend.port, method: req.method, path, headers, setHost: false });
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bad request');
      req.resume();
      return;
    }
    up.on('response', (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(up);
  };
}
