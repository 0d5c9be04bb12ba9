/**
 * Raw misbehaving servers for the hostile corpus: a listener on a loopback address whose every
 * accepted connection (after an optional TLS handshake) is handed to a function with full
 * control over the bytes — what the ordinary lab host (a node `http` server) cannot do:
 * drip a response a byte at a time, send 1xx forever, lie in Content-Length, reset mid-body,
 * send invalid UTF-8, stall a TLS handshake, present a 100-certificate chain or speak TLS 1.0.
 *
 * Every byte a client sends is recorded per connection (`received`), and request heads are
 * parsed (`requests`) so tests can assert on what fedcheck really put on the wire (e.g. that a
 * CR/LF in a hostile value never reached a Host header).
 *
 * `stop()` destroys every socket and timer it knows of, so a test never hangs on a handle.
 */
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';

/** TLS material for a raw host: what the server sends (leaf first) and its key. */
export interface RawTls {
  /** leaf + intermediates, PEM */
  chainPem: string;
  keyPem: string;
  /** extra server options: minVersion/maxVersion/ciphers for old-protocol servers, … */
  options?: tls.TlsOptions;
}

/** One request head as received (the target and the headers byte for byte). */
export interface RawRequest {
  /** index of the connection it came on */
  connection: number;
  method: string;
  target: string;
  version: string;
  /** header lines as received, in order, name and value split at the first colon */
  headers: Array<[string, string]>;
  /** the whole head, CR/LF included */
  head: string;
}

/** Per-connection state handed to a connection handler. */
export interface RawConn {
  /** the (TLS) socket */
  socket: net.Socket;
  index: number;
  /** setTimeout/setInterval that `stop()` clears */
  timer(ms: number, fn: () => void): void;
  every(ms: number, fn: () => void): void;
  /** write unless the socket is gone; false when it is */
  write(data: string | Buffer): boolean;
  /** TCP RST */
  reset(): void;
}

export type RawConnectionHandler = (c: RawConn, host: RawHost) => void;

export interface RawHostOptions {
  /** 127.0.0.x or ::1 */
  address: string;
  /** serve TLS with this material; absent = plain TCP */
  tls?: RawTls;
  /**
   * What to do with a connection once it is ready (TLS done, or at once for plain TCP). For TLS
   * behaviours below the HTTP layer use `onTcp` instead.
   */
  onConnection?: RawConnectionHandler;
  /** called with the raw TCP socket before any TLS (for handshake-level misbehaviour) */
  onTcp?: RawConnectionHandler;
}

export interface RawHost {
  address: string;
  port: number;
  /** TCP connections accepted */
  readonly connections: number;
  /** bytes received per connection (after TLS decryption for TLS hosts) */
  received: Buffer[][];
  /** request heads parsed out of `received` by {@link httpResponder} */
  requests: RawRequest[];
  stop(): Promise<void>;
}

export async function startRawHost(opts: RawHostOptions): Promise<RawHost> {
  if (!net.isIP(opts.address)) throw new Error(`startRawHost: ${opts.address} is not an IP literal`);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let connections = 0;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const ctx = opts.tls ? tls.createSecureContext({ ...opts.tls.options, cert: opts.tls.chainPem, key: opts.tls.keyPem }) : null;
  const host: RawHost = {
    address: opts.address,
    port: 0,
    get connections() {
      return connections;
    },
    received: [],
    requests: [],
    async stop() {
      stopped = true;
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
    },
  };
  const conn = (socket: net.Socket, index: number): RawConn => ({
    socket,
    index,
    timer(ms, fn) {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped && !socket.destroyed) fn();
      }, ms);
      timers.add(t);
    },
    every(ms, fn) {
      if (stopped) return;
      const t = setInterval(() => {
        if (stopped || socket.destroyed) {
          clearInterval(t);
          timers.delete(t);
          return;
        }
        fn();
      }, ms);
      timers.add(t);
    },
    write(data) {
      if (socket.destroyed || !socket.writable) return false;
      socket.write(data);
      return true;
    },
    reset() {
      if (socket.destroyed) return;
      // A TLS socket has no resetAndDestroy of its own: reset the TCP socket under it.
      const raw = (socket as tls.TLSSocket & { _parent?: net.Socket })._parent ?? socket;
      if (typeof raw.resetAndDestroy === 'function') raw.resetAndDestroy();
      else raw.destroy();
      socket.destroy();
    },
  });
  const server = net.createServer((tcp) => {
    const index = connections++;
    track(tcp);
    host.received[index] = [];
    if (opts.onTcp) {
      tcp.on('data', (d: Buffer) => host.received[index]!.push(d));
      opts.onTcp(conn(tcp, index), host);
      return;
    }
    if (!ctx) {
      tcp.on('data', (d: Buffer) => host.received[index]!.push(d));
      opts.onConnection?.(conn(tcp, index), host);
      return;
    }
    const sock = new tls.TLSSocket(tcp, { isServer: true, secureContext: ctx, ...(opts.tls?.options ?? {}) });
    track(sock);
    sock.on('data', (d: Buffer) => host.received[index]!.push(d));
    sock.once('secure', () => opts.onConnection?.(conn(sock, index), host));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: opts.address, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  host.port = (server.address() as net.AddressInfo).port;
  return host;
}

/** A request as {@link httpResponder} hands it over, with helpers to answer it raw. */
export interface RawExchange {
  req: RawRequest;
  c: RawConn;
  /** n-th request on this connection */
  n: number;
}

/**
 * Turn a per-request function into a connection handler: request heads are parsed as they arrive
 * (pipelined requests included, request bodies skipped by Content-Length), recorded in
 * `host.requests`, and answered strictly in order — the next request is handed over only when the
 * previous answer's promise settles. Whatever the function writes is sent byte for byte.
 */
export function httpResponder(respond: (x: RawExchange) => void | Promise<void>): RawConnectionHandler {
  return (c, host) => {
    let buf = Buffer.alloc(0);
    let skip = 0;
    let n = 0;
    let chain: Promise<void> = Promise.resolve();
    c.socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (skip > 0) {
          const k = Math.min(skip, buf.length);
          buf = buf.subarray(k);
          skip -= k;
          if (skip > 0) return;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 1 << 20) c.socket.destroy(); // not a client we care about
          return;
        }
        const head = buf.subarray(0, end + 4).toString('latin1');
        buf = buf.subarray(end + 4);
        const lines = head.slice(0, -4).split('\r\n');
        const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
        const headers: Array<[string, string]> = lines.slice(1).map((l) => {
          const i = l.indexOf(':');
          return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).trim()];
        });
        const req: RawRequest = { connection: c.index, method, target, version, headers, head };
        host.requests.push(req);
        const cl = headers.find(([k]) => k.toLowerCase() === 'content-length');
        if (cl) skip = Math.max(0, Number(cl[1]) || 0);
        const x: RawExchange = { req, c, n: n++ };
        chain = chain.then(() => respond(x)).catch(() => undefined);
      }
    });
  };
}

/**
 * A node `http` request listener behind a raw host: node's own parser, with every request head
 * (method, raw target, raw header pairs in order) recorded in `host.requests` first.
 */
export function nodeHttp(listener: http.RequestListener): RawConnectionHandler {
  let hostRef: RawHost | null = null;
  const server = http.createServer((req, res) => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const conn = (req.socket as net.Socket & { fedcheckIndex?: number }).fedcheckIndex ?? -1;
    hostRef?.requests.push({ connection: conn, method: req.method ?? '', target: req.url ?? '', version: `HTTP/${req.httpVersion}`, headers, head: '' });
    listener(req, res);
  });
  server.on('clientError', (_e, s) => s.destroy());
  return (c, host) => {
    hostRef = host;
    (c.socket as net.Socket & { fedcheckIndex?: number }).fedcheckIndex = c.index;
    server.emit('connection', c.socket);
  };
}

/** `HTTP/1.1 <status> <reason>` + headers + blank line, exactly as given (no validation). */
export function head(status: number | string, headers: Array<[string, string]> | Record<string, string> = [], reason = 'OK'): string {
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  return `HTTP/1.1 ${status} ${reason}\r\n${list.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** A complete response with a correct Content-Length. */
export function response(status: number, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(head(status, { 'content-length': String(b.length), ...headers }), 'latin1'), b]);
}

/** Write `data` one byte every `ms` (until the client goes away). Resolves when done. */
export function drip(c: RawConn, data: string | Buffer, ms: number): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return new Promise((resolve) => {
    let i = 0;
    const step = () => {
      if (i >= bytes.length || !c.write(bytes.subarray(i, i + 1))) return resolve();
      i++;
      c.timer(ms, step);
    };
    step();
    c.socket.once('close', () => resolve());
  });
}

/** Keep writing `chunk` as fast as the client reads, forever (until it goes away). */
export function flood(c: RawConn, chunk: Buffer, limitBytes = Infinity): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    const pump = () => {
      while (!c.socket.destroyed && c.socket.writable && sent < limitBytes) {
        const piece = sent + chunk.length > limitBytes ? chunk.subarray(0, limitBytes - sent) : chunk;
        sent += piece.length;
        if (!c.socket.write(piece)) {
          c.socket.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    c.socket.once('close', () => resolve());
    pump();
  });
}
