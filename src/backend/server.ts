/**
 * `fedcheck backend`: a stand-in homeserver to put behind a reverse proxy (before the real one is
 * installed, or briefly instead of it). Plain HTTP, like a homeserver's listener behind a proxy.
 *
 * It answers what a federation tester asks a homeserver:
 * - `GET /_matrix/federation/v1/version` → server name `fedcheck-backend` (how `check` recognises it);
 * - `GET /_matrix/key/v2/server[/{keyId}]` → its server keys, signed with an ephemeral ed25519 key;
 * - `GET /health` → `OK`;
 * - `GET /_matrix/client/versions` → a plausible versions list;
 * - any other path → 404 `M_UNRECOGNIZED` (spec: unknown endpoints).
 *
 * And, for fedcheck's probes, it is an echo: any request carrying `X-Fedcheck-Probe: <nonce>` (on
 * any path, so probes can use the realistic Matrix paths a proxy routes) or addressed to
 * `/_matrix/fedcheck/echo/...` gets `200` and a JSON {@link EchoRecord} of exactly what arrived:
 * the raw request target, the raw headers in order, the HTTP version, the body length and the
 * peer address (the proxy's address, as the backend sees it).
 *
 * Node's HTTP parser refuses some targets a broken proxy may forward (raw non-ASCII bytes, control
 * characters): those arrive as `clientError` with the bytes received, and are echoed from there
 * (then the connection is closed), so the probe still learns what the proxy sent.
 */
import http from 'node:http';
import net from 'node:net';
import { generateSigningKey, signJson, type SigningKey } from '../core/signing.js';

/** The `server.name` the stand-in reports on `/_matrix/federation/v1/version`. */
import { BACKEND_SERVER_NAME, ECHO_MARKER, ECHO_PREFIX, PROBE_HEADER, type EchoRecord } from '../core/echo-protocol.js';
export { BACKEND_SERVER_NAME, ECHO_MARKER, ECHO_PREFIX, PROBE_HEADER, type EchoRecord };

export interface BackendOptions {
  /** `host:port`, `[v6]:port` or a port number; default `127.0.0.1:8008` */
  listen?: string | number;
  /** the homeserver name this stand-in pretends to be, e.g. `example.com` */
  serverName: string;
  /** default: a fresh ephemeral key */
  signingKey?: SigningKey;
  /** called with one line per request (no trailing newline) */
  log?: (line: string) => void;
  /**
   * `false`: behave like a homeserver only (no echo, not even with the probe header) and route
   * as homeservers do (unauthenticated requests to known endpoints → 401). Used to test live mode.
   */
  echo?: boolean;
  /** version string reported on the federation version endpoint */
  version?: string;
}

export interface RunningBackend {
  address: string;
  port: number;
  /** `http://address:port` */
  url: string;
  serverName: string;
  keyId: string;
  publicKey: string;
  stop(): Promise<void>;
}

export class ListenError extends Error {}

/** Parse `host:port`, `[v6]:port`, `:port` or `port`. Throws ListenError. */
export function parseListen(spec: string | number): { host: string; port: number } {
  const s = String(spec).trim();
  let host = '127.0.0.1';
  let portText = s;
  const m6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (m6) {
    host = m6[1]!;
    portText = m6[2]!;
  } else if (s.includes(':')) {
    const i = s.lastIndexOf(':');
    if (s.indexOf(':') !== i) throw new ListenError(`--listen "${s}": put an IPv6 address in brackets, e.g. [::1]:8008`);
    host = s.slice(0, i) || '127.0.0.1';
    portText = s.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || +portText > 65535) throw new ListenError(`--listen "${s}": "${portText}" is not a port (0-65535)`);
  if (host !== 'localhost' && !net.isIP(host)) throw new ListenError(`--listen "${s}": "${host}" is not an IP address`);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: +portText };
}

function rawHeaderPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function headerValue(pairs: Array<[string, string]>, name: string): string | undefined {
  const n = name.toLowerCase();
  return pairs.find(([k]) => k.toLowerCase() === n)?.[1];
}

function needsBase64(bytes: Buffer): boolean {
  for (const b of bytes) if (b < 0x21 || b > 0x7e) return true;
  return false;
}

function targetFields(bytes: Buffer): Pick<EchoRecord, 'rawTarget' | 'rawTargetBase64'> {
  const out: Pick<EchoRecord, 'rawTarget' | 'rawTargetBase64'> = { rawTarget: bytes.toString('utf8') };
  if (needsBase64(bytes)) out.rawTargetBase64 = bytes.toString('base64');
  return out;
}

function json(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'access-control-allow-origin': '*',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

const CLIENT_VERSIONS = ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

/**
 * Routes of a homeserver for the echo-less mode, matched on the raw path as homeservers do
 * (each `{param}` is one segment: `[^/]+`), so a proxy that decodes `%2F` changes the routing.
 * Unauthenticated requests to them get 401 like a real homeserver.
 */
const AUTH_ROUTES: Array<{ re: RegExp; errcode: string; error: string }> = [
  { re: /^\/_matrix\/federation\/v1\/(event|state|state_ids|backfill|event_auth|get_missing_events|query_auth)\/[^/]+$/, errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' },
  { re: /^\/_matrix\/federation\/v[12]\/(make_join|make_leave|make_knock)\/[^/]+\/[^/]+$/, errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' },
  { re: /^\/_matrix\/federation\/v[12]\/(send_join|send_leave|send_knock|invite)\/[^/]+\/[^/]+$/, errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' },
  { re: /^\/_matrix\/federation\/v1\/send\/[^/]+$/, errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' },
  { re: /^\/_matrix\/federation\/v1\/query\/[^/]+$/, errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' },
  { re: /^\/_matrix\/client\/(v3|r0)\/rooms\/[^/]+\/(event|context)\/[^/]+$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/client\/(v3|r0)\/rooms\/[^/]+\/(state|messages|members|joined_members)$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/client\/(v3|r0)\/rooms\/[^/]+\/state\/[^/]+(\/[^/]*)?$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/client\/(v3|r0)\/(join|knock)\/[^/]+$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/client\/(v3|r0)\/profile\/[^/]+$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/client\/(v3|r0)\/directory\/room\/[^/]+$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
  { re: /^\/_matrix\/media\/(v3|r0)\/upload$/, errcode: 'M_MISSING_TOKEN', error: 'Missing access token' },
];

/**
 * A request as the stand-in's logic sees it: what arrived, as Node's HTTP server parsed it. Its
 * HTTP server builds one from each IncomingMessage; the lab's reverse proxy builds one for the
 * request it forwards (src/lab/lab-proxy.ts).
 */
export interface BackendRequest {
  /** the raw request target (bytes as latin1, as Node keeps `req.url`) */
  url: string;
  method: string;
  httpVersion: string;
  /** header names and values in the order received, flattened (as `req.rawHeaders`) */
  rawHeaders: string[];
  /** lower-case names (as `req.headers`) */
  headers: http.IncomingHttpHeaders;
  /** the peer, as the backend sees it (the proxy) */
  remoteAddress: string;
  remotePort: number;
  /** the request body */
  body: NodeJS.ReadableStream;
}

/** The stand-in's request logic, without a listener. */
export interface BackendLogic {
  serverName: string;
  keyId: string;
  publicKey: string;
  handle(req: BackendRequest, res: http.ServerResponse): void;
  /** A request Node's parser refused (`clientError`): echoed from its raw bytes, then closed. */
  handleUnparsed(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: net.Socket): void;
}

/** The echo of what arrived; the declared length comes from the headers. */
function echoRecord(
  serverName: string,
  probe: string | null,
  target: Buffer,
  rest: Pick<EchoRecord, 'method' | 'httpVersion' | 'headers' | 'bodyLength' | 'remoteAddress' | 'remotePort'> & { parseError?: string },
): EchoRecord {
  const cl = headerValue(rest.headers, 'content-length');
  return {
    [ECHO_MARKER]: 1,
    probe,
    server: BACKEND_SERVER_NAME,
    serverName,
    ...targetFields(target),
    method: rest.method,
    httpVersion: rest.httpVersion,
    headers: rest.headers,
    bodyLength: rest.bodyLength,
    declaredLength: cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null,
    remoteAddress: rest.remoteAddress,
    remotePort: rest.remotePort,
    ...(rest.parseError !== undefined ? { parseError: rest.parseError } : {}),
  };
}

/** The request logic of {@link startBackend} (every option but `listen`). */
export function createBackendLogic(opts: Omit<BackendOptions, 'listen'>): BackendLogic {
  const key = opts.signingKey ?? generateSigningKey();
  const serverName = opts.serverName;
  const echoEnabled = opts.echo !== false;
  const version = opts.version ?? '0.1.0';
  const log = opts.log;

  const keyResponse = (): Record<string, unknown> =>
    signJson(
      {
        server_name: serverName,
        valid_until_ts: Date.now() + 24 * 3600 * 1000,
        verify_keys: { [key.keyId]: { key: key.publicKey } },
        old_verify_keys: {},
      },
      serverName,
      key.keyId,
      key.seed,
    );

  const sendEcho = (req: BackendRequest, res: http.ServerResponse, probe: string | null): void => {
    let bodyLength = 0;
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      const headers = rawHeaderPairs(req.rawHeaders);
      json(res, 200, echoRecord(serverName, probe, Buffer.from(req.url, 'latin1'), { method: req.method, httpVersion: req.httpVersion, headers, bodyLength, remoteAddress: req.remoteAddress, remotePort: req.remotePort }));
    };
    req.body.on('data', (c: Buffer) => {
      bodyLength += c.length;
    });
    req.body.on('end', answer);
    req.body.on('error', () => undefined);
  };

  const handle = (req: BackendRequest, res: http.ServerResponse): void => {
    const target = req.url;
    const probeHeader = req.headers[PROBE_HEADER];
    const probe = Array.isArray(probeHeader) ? probeHeader[0]! : probeHeader ?? null;
    const pathOnly = target.split('?')[0]!;
    log?.(`${req.remoteAddress} ${req.method} ${Buffer.from(target, 'latin1').toString('utf8')} HTTP/${req.httpVersion}${probe ? ' (probe)' : ''}`);
    if (echoEnabled && (probe !== null || pathOnly.startsWith(ECHO_PREFIX + '/') || pathOnly === ECHO_PREFIX)) {
      sendEcho(req, res, probe);
      return;
    }
    // From here on: a homeserver. Drain any body first.
    req.body.resume();
    req.body.on('end', () => route(req, res, pathOnly));
  };

  const route = (req: BackendRequest, res: http.ServerResponse, path: string): void => {
    const method = req.method || 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
        'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization, Date',
      });
      res.end();
      return;
    }
    const getOnly = (fn: () => void) => {
      if (method === 'GET' || method === 'HEAD') fn();
      else json(res, 405, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    };
    if (path === '/health') {
      getOnly(() => {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 });
        res.end('OK');
      });
      return;
    }
    if (path === '/_matrix/federation/v1/version') {
      getOnly(() => json(res, 200, { server: { name: BACKEND_SERVER_NAME, version } }));
      return;
    }
    if (path === '/_matrix/key/v2/server' || path === `/_matrix/key/v2/server/${encodeURIComponent(key.keyId)}` || path === `/_matrix/key/v2/server/${key.keyId}`) {
      getOnly(() => json(res, 200, keyResponse()));
      return;
    }
    if (path === '/_matrix/client/versions') {
      getOnly(() => json(res, 200, { versions: CLIENT_VERSIONS, unstable_features: { 'org.fedcheck.backend': true } }));
      return;
    }
    if (!echoEnabled) {
      for (const r of AUTH_ROUTES) {
        if (r.re.test(path)) {
          json(res, 401, { errcode: r.errcode, error: r.error });
          return;
        }
      }
    }
    json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  };

  // Requests Node's parser refuses: echo them from the raw bytes, then close.
  const handleUnparsed = (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: net.Socket): void => {
    if (!socket.writable) return;
    const raw = err.rawPacket;
    const parsed = raw ? parseRawHead(raw) : null;
    if (!echoEnabled || !parsed || (parsed.probe === null && !parsed.target.toString('latin1').startsWith(ECHO_PREFIX))) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 58\r\n\r\n{"errcode":"M_UNRECOGNIZED","error":"Malformed request!!"}');
      return;
    }
    log?.(`${socket.remoteAddress} ${parsed.method} ${parsed.target.toString('utf8')} (unparseable: ${err.code}) (probe)`);
    const text = JSON.stringify(
      echoRecord(serverName, parsed.probe, parsed.target, {
        method: parsed.method,
        httpVersion: parsed.httpVersion,
        headers: parsed.headers,
        bodyLength: 0,
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        parseError: String(err.code ?? err.message),
      }),
    );
    socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  };

  return { serverName, keyId: key.keyId, publicKey: key.publicKey, handle, handleUnparsed };
}

/** Start the stand-in backend. Resolves once it listens. */
export async function startBackend(opts: BackendOptions): Promise<RunningBackend> {
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:8008');
  const logic = createBackendLogic(opts);
  const { serverName } = logic;

  const server = http.createServer(
    {
      // Be as permissive as Node allows: the point is to see what the proxy sent.
      insecureHTTPParser: true,
      maxHeaderSize: 128 * 1024,
      requireHostHeader: false,
      keepAliveTimeout: 30_000,
    },
    (req, res) =>
      logic.handle(
        {
          // Node keeps req.url as the raw target, decoded from bytes as latin1.
          url: req.url ?? '',
          method: req.method ?? '',
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress ?? '',
          remotePort: req.socket.remotePort ?? 0,
          body: req,
        },
        res,
      ),
  );

  server.on('clientError', logic.handleUnparsed);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    address: addr.address,
    port: addr.port,
    url: `http://${net.isIPv6(addr.address) ? `[${addr.address}]` : addr.address}:${addr.port}`,
    serverName,
    keyId: logic.keyId,
    publicKey: logic.publicKey,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Parse a request head from raw bytes (for requests Node's parser refused). */
export function parseRawHead(raw: Buffer): { method: string; target: Buffer; httpVersion: string; headers: Array<[string, string]>; probe: string | null } | null {
  const end = raw.indexOf('\r\n');
  if (end < 0) return null;
  const line = raw.subarray(0, end);
  const sp1 = line.indexOf(0x20);
  const sp2 = line.lastIndexOf(0x20);
  if (sp1 <= 0 || sp2 <= sp1) return null;
  const method = line.subarray(0, sp1).toString('latin1');
  const target = line.subarray(sp1 + 1, sp2);
  const proto = line.subarray(sp2 + 1).toString('latin1');
  const vm = /^HTTP\/(\d\.\d)$/.exec(proto);
  if (!vm) return null;
  const headEnd = raw.indexOf('\r\n\r\n');
  const headerText = raw.subarray(end + 2, headEnd < 0 ? raw.length : headEnd).toString('latin1');
  const headers: Array<[string, string]> = [];
  for (const l of headerText.split('\r\n')) {
    const i = l.indexOf(':');
    if (i > 0) headers.push([l.slice(0, i), l.slice(i + 1).trim()]);
  }
  return { method, target, httpVersion: vm[1]!, headers, probe: headerValue(headers, PROBE_HEADER) ?? null };
}

export interface BackendCommandOptions {
  listen?: string;
  serverName?: string;
  /** stop when aborted (tests); otherwise runs until SIGINT/SIGTERM */
  signal?: AbortSignal;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** log each request on stderr (default true) */
  logRequests?: boolean;
}

/**
 * `fedcheck backend`: start, print where it listens and how to use it, run until SIGINT/SIGTERM
 * (or `signal`). Returns the exit code: 0 after a clean stop, 2 for invalid options or a port
 * that cannot be bound.
 */
export async function runBackendCommand(opts: BackendCommandOptions = {}): Promise<number> {
  const out = opts.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t: string) => void process.stderr.write(t));
  const serverName = opts.serverName ?? 'localhost';
  let running: RunningBackend;
  try {
    running = await startBackend({
      listen: opts.listen ?? '127.0.0.1:8008',
      serverName,
      log: opts.logRequests === false ? undefined : (l) => err(`${new Date().toISOString()} ${l}\n`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof ListenError) err(`fedcheck backend: ${e.message}\n`);
    else if (code === 'EADDRINUSE') err(`fedcheck backend: ${opts.listen ?? '127.0.0.1:8008'} is already in use (stop the homeserver, or pick another --listen)\n`);
    else if (code === 'EADDRNOTAVAIL') err(`fedcheck backend: ${opts.listen} is not an address of this machine\n`);
    else if (code === 'EACCES') err(`fedcheck backend: not allowed to listen on ${opts.listen} (ports below 1024 need privileges)\n`);
    else err(`fedcheck backend: cannot listen on ${opts.listen ?? '127.0.0.1:8008'}: ${(e as Error).message}\n`);
    return 2;
  }
  out(
    `fedcheck stand-in backend for ${serverName} listening on ${running.url}\n` +
      `  federation version: ${BACKEND_SERVER_NAME}; signing key ${running.keyId} (ephemeral)\n` +
      `  Point the reverse proxy's upstream at it (in place of the homeserver), then run\n` +
      `  \`fedcheck check ${serverName}\` from outside: it will report exactly what the proxy\n` +
      `  does to requests (URI canonicalisation, forwarded headers, Host, upload limit).\n` +
      `  Stop with Ctrl-C.\n`,
  );
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    if (opts.signal) {
      if (opts.signal.aborted) return resolve();
      opts.signal.addEventListener('abort', done, { once: true });
    } else {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    }
  });
  await running.stop();
  return 0;
}
