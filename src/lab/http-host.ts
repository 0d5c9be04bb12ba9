/**
 * A programmable HTTP/HTTPS host for the lab: one listening socket on a loopback address
 * (127.0.0.x or ::1), port chosen by the kernel, driven by an ordinary node `http` handler.
 *
 * `req.url` in the handler is the request target exactly as it arrived on the wire (node's http
 * parser does not normalise it: `/a/%2e%2e/b/../c%2F` stays as is), so a handler can judge
 * URI canonicalisation by proxies.
 *
 * Connection-level faults (to simulate broken servers):
 * - `refuse`            nothing listens: a port is reserved then closed, connects get ECONNREFUSED;
 * - `silent`            TCP is accepted, nothing is ever read or written (TLS never starts);
 * - `plain-http-on-tls` a plain HTTP server (the handler) where TLS is expected; a TLS client's
 *                       ClientHello gets node's `400 Bad Request` and the client fails with a
 *                       TLS "wrong version number"-style error;
 * - `reset`             the first bytes received are answered with a TCP RST (ECONNRESET);
 * - `tls-stall`         the ClientHello (or whatever arrives) is read and never answered.
 *
 * Latency (`rttMs`): a small relay sits in front of the real server and delays every chunk by
 * rttMs/2 in each direction, preserving order, so each request/response exchange costs one RTT
 * (TLS 1.3 handshake: one more; TLS 1.2: two more). The kernel completes the TCP handshake itself,
 * so `connect()` returns at once; to account for the handshake's round trip, the first chunk a
 * client sends on a connection is held one extra RTT. Net effect, as seen by a client: a fresh
 * plain-HTTP request costs ~2×RTT, a fresh HTTPS (TLS 1.3) request ~3×RTT, a request on a kept-alive
 * connection ~1×RTT — the same round-trip counts as a real network path.
 *
 * `stop()` destroys every socket it knows of (relay, inner server, stalled connections) and
 * clears relay timers, so a test never hangs on an open handle.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';

/** TLS material: the chain is what the server sends (leaf first). */
export interface HostTls {
  certPem: string;
  keyPem: string;
  /** leaf + intermediates, PEM; when empty the leaf alone (`certPem`) is sent */
  chainPem: string;
}

/** Connection-level misbehaviour. */
export type HostFault = 'refuse' | 'silent' | 'plain-http-on-tls' | 'reset' | 'tls-stall';

/** Options for {@link startHost}. */
export interface HostOptions {
  /** a loopback address to bind: `127.0.0.x` or `::1` */
  address: string;
  /** default 0 (kernel picks) */
  port?: number;
  /** serve HTTPS with this certificate; null/absent = plain HTTP */
  tls?: HostTls | null;
  /** the request handler (ignored by faults that never get to HTTP) */
  handler?: http.RequestListener;
  /** simulated round-trip time, see the module comment */
  rttMs?: number;
  fault?: HostFault;
  /** extra node TLS server options (minVersion, ALPNProtocols, ...) */
  tlsOptions?: tls.TlsOptions;
}

/** A running lab host. */
export interface LabHost {
  /** the bound address (as given) */
  address: string;
  port: number;
  /** `https://127.0.0.2:PORT` / `http://[::1]:PORT` */
  origin: string;
  /** TCP connections accepted so far on the public port */
  readonly connections: number;
  stop(): Promise<void>;
}

const defaultHandler: http.RequestListener = (_req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found');
};

function listen(server: net.Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host: address, exclusive: true }, () => {
      server.off('error', onError);
      const a = server.address() as net.AddressInfo;
      if (a.address !== address && !(net.isIPv6(address) && a.address === normaliseV6(address))) {
        server.close();
        reject(new Error(`lab host bound ${a.address}, expected ${address}`));
        return;
      }
      resolve(a.port);
    });
  });
}

function normaliseV6(a: string): string {
  return new URL(`http://[${a}]/`).hostname.slice(1, -1);
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** Per-direction ordered delay line. */
class DelayLine {
  private queue: Array<{ due: number; run: () => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDue = 0;
  constructor(private readonly timers: Set<NodeJS.Timeout>) {}

  push(delayMs: number, run: () => void): void {
    const due = Math.max(performance.now() + delayMs, this.lastDue);
    this.lastDue = due;
    this.queue.push({ due, run });
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.due - performance.now());
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.timer = null;
      const now = performance.now();
      while (this.queue.length && this.queue[0]!.due <= now + 1) this.queue.shift()!.run();
      this.arm();
    }, wait);
    this.timer = t;
    this.timers.add(t);
  }

  clear(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timers.delete(this.timer);
      this.timer = null;
    }
    this.queue = [];
  }
}

/** Wire `a` → `b` through a delay line: data, end and errors all arrive in order, late. */
function pipeDelayed(from: net.Socket, to: net.Socket, line: DelayLine, oneWayMs: number, firstExtraMs: number): void {
  let first = true;
  from.on('data', (chunk: Buffer) => {
    const d = first ? oneWayMs + firstExtraMs : oneWayMs;
    first = false;
    line.push(d, () => {
      if (!to.destroyed) to.write(chunk);
    });
  });
  from.on('end', () => line.push(oneWayMs, () => !to.destroyed && to.end()));
  from.on('error', (err: NodeJS.ErrnoException) => {
    line.push(oneWayMs, () => {
      if (to.destroyed) return;
      if (err.code === 'ECONNRESET') to.resetAndDestroy();
      else to.destroy();
    });
  });
  from.on('close', () => line.push(oneWayMs, () => !to.destroyed && to.destroySoon()));
}

/**
 * Start a lab host. Resolves once it is listening (or, for `refuse`, once the port is known
 * to be closed).
 */
export async function startHost(opts: HostOptions): Promise<LabHost> {
  const address = opts.address;
  if (!net.isIP(address)) throw new Error(`startHost: address must be an IP literal, got ${address}`);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const lines = new Set<DelayLine>();
  const servers: net.Server[] = [];
  let connections = 0;
  const rttMs = Math.max(0, opts.rttMs ?? 0);
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const originHost = net.isIPv6(address) ? `[${address}]` : address;
  const scheme = opts.tls && opts.fault !== 'plain-http-on-tls' ? 'https' : 'http';

  const makeHost = (port: number): LabHost => ({
    address,
    port,
    origin: `${scheme}://${originHost}:${port}`,
    get connections() {
      return connections;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const l of lines) l.clear();
      for (const s of sockets) s.destroy();
      for (const srv of servers) {
        if (srv instanceof http.Server) srv.closeAllConnections();
      }
      await Promise.all(servers.map(closeServer));
    },
  });

  if (opts.fault === 'refuse') {
    const probe = net.createServer();
    const port = await listen(probe, opts.port ?? 0, address);
    await closeServer(probe);
    return makeHost(port);
  }

  // the server that does the actual work (or misbehaves)
  let inner: net.Server;
  const handler = opts.handler ?? defaultHandler;
  switch (opts.fault) {
    case 'silent':
      inner = net.createServer({ pauseOnConnect: true }, (s) => track(s));
      break;
    case 'tls-stall':
      inner = net.createServer((s) => {
        track(s);
        s.on('data', () => undefined); // read the ClientHello, answer nothing
      });
      break;
    case 'reset':
      inner = net.createServer((s) => {
        track(s);
        s.once('data', () => s.resetAndDestroy());
      });
      break;
    case 'plain-http-on-tls':
      inner = http.createServer(handler);
      break;
    default:
      inner = opts.tls
        ? https.createServer(
            { ...opts.tlsOptions, cert: opts.tls.chainPem || opts.tls.certPem, key: opts.tls.keyPem },
            handler,
          )
        : http.createServer(handler);
  }
  inner.on('connection', (s: net.Socket) => track(s));
  inner.on('tlsClientError', () => undefined);
  // (no 'clientError' listener: node's default answers unparsable HTTP with 400 and closes)
  servers.push(inner);

  if (rttMs === 0) {
    inner.on('connection', () => connections++);
    const port = await listen(inner, opts.port ?? 0, address);
    return makeHost(port);
  }

  // relay in front of the inner server
  const innerPort = await listen(inner, 0, address);
  const half = rttMs / 2;
  // noDelay on both legs: the relay is the wire, it must not add Nagle's algorithm (a small
  // write waiting for the ACK of the previous one, which the peer delays up to 40 ms).
  const relay = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => {
    connections++;
    track(client);
    const upstream = net.connect({ host: address, port: innerPort, allowHalfOpen: true, noDelay: true });
    track(upstream);
    const up = new DelayLine(timers);
    const down = new DelayLine(timers);
    lines.add(up);
    lines.add(down);
    client.on('close', () => {
      lines.delete(up);
      lines.delete(down);
    });
    pipeDelayed(client, upstream, up, half, rttMs);
    pipeDelayed(upstream, client, down, half, 0);
    client.resume();
  });
  servers.push(relay);
  const port = await listen(relay, opts.port ?? 0, address);
  return makeHost(port);
}
