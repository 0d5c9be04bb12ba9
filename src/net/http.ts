/**
 * HTTP(S) exchanges with full control over where the TCP connection goes, the SNI, the Host
 * header and the exact request target — what a homeserver does, not what a browser does.
 *
 * - undici `Client.request()` sends the path exactly as written (fetch() and the top-level
 *   request() normalise it, NODE-NOTES) — so URI probes see what the proxy really does.
 * - We open the TCP/TLS socket ourselves (undici `connect` hook): SNI as the spec says (none for
 *   IP certificates), no TLS session reuse (Node skips the identity check on resumed sessions),
 *   rejectUnauthorized:false so the handshake completes and the *reason* a chain fails is kept as
 *   evidence; identity is judged later by the `tls` check against the name the spec requires.
 * - One `Connection` per address: all of that address's probes share it (pipelined), and the
 *   certificate comes from the connection the probes use.
 * - Every exchange has a timeout and a body cap; errors are data (HttpExchange.error).
 */
import * as tls from 'node:tls';
import * as net from 'node:net';
import { Client } from 'undici';
import type { HttpExchange, HttpResponseEvidence, NetError, TlsEvidence } from '../core/types.js';
import type { DnsClient } from './dns.js';
import type { ConnectMap } from './connect-map.js';
import type { Trust } from './trust.js';

export interface TraceEvent {
  kind: 'dns' | 'connect' | 'tls' | 'request' | 'response' | 'error' | 'note';
  message: string;
  ms?: number;
  /** kind 'tls': the handshake facts, certificate chain included, and where the connection went (for --verbose) */
  tls?: TlsEvidence;
  peer?: { address: string; port: number };
  /** request / response / error events of an HTTP exchange: which request, on which connection */
  exchange?: { method: string; path: string; hostHeader: string; address: string; port: number };
}

/** Everything a probe needs to touch the network. Built once per server name by the CLI. */
export interface NetContext {
  dns: DnsClient;
  connectMap: ConnectMap;
  trust: Trust;
  /** epoch ms: nothing may run past this */
  deadline: number;
  /** per-step cap (connect, headers, body), ms */
  stepTimeoutMs: number;
  family: 0 | 4 | 6;
  userAgent: string;
  trace?: (e: TraceEvent) => void;
  /** the per-address probe connections of this run, lent to other probes of the same address */
  share?: ConnectionShare;
}

export interface Endpoint {
  scheme: 'https' | 'http';
  /** IP literal actually connected to (after --resolve/--connect-to) */
  address: string;
  port: number;
  /** SNI; null = send none (IP certificate, or plain http) */
  servername: string | null;
}

export interface RequestSpec {
  method?: string;
  /** request target, sent byte for byte */
  path: string;
  hostHeader: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** default 64 KiB */
  maxBodyBytes?: number;
  timeoutMs?: number;
  /** label for the URL shown in evidence, e.g. https://example.com/.well-known/matrix/server */
  url?: string;
}

export const DEFAULT_BODY_CAP = 64 * 1024;

export function hostForUrl(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function remaining(ctx: NetContext): number {
  return Math.max(0, ctx.deadline - Date.now());
}

/** Map any error thrown by a socket, TLS or undici into NetError. */
export function classifyError(e: unknown, phaseHint: NetError['phase']): NetError {
  const err = e as NodeJS.ErrnoException & { cause?: unknown };
  const inner = (err?.cause as NodeJS.ErrnoException | undefined) ?? undefined;
  const code = (err?.code && !String(err.code).startsWith('UND_ERR_ABORTED') ? err.code : undefined) ?? inner?.code ?? err?.name ?? 'ERROR';
  const msg = String(err?.message ?? e);
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' && phaseHint === 'connect') {
    return { phase: 'timeout', code: 'ETIMEDOUT', message: 'connection attempt timed out (no answer to the TCP handshake)' };
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { phase: 'timeout', code, message: 'no HTTP response headers before the timeout' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { phase: 'timeout', code, message: 'the response body stalled past the timeout' };
  if (code === 'AbortError' || code === 'TimeoutError' || code === 'UND_ERR_ABORTED') {
    return { phase: 'timeout', code: 'ETIMEDOUT', message: `no complete answer before the timeout (${phaseHint} phase)` };
  }
  if (code === 'TLS_HANDSHAKE_TIMEOUT') return { phase: 'timeout', code, message: msg };
  if (code === 'EPOLICY') return { phase: 'policy', code, message: msg };
  if (code === 'ECONNREFUSED') return { phase: 'connect', code, message: 'connection refused (nothing listening on that port)' };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return { phase: 'connect', code, message: `address unreachable (${code})` };
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return { phase: phaseHint === 'connect' ? 'connect' : phaseHint, code, message: `connection closed by the server (${code}) during the ${phaseHint} phase` };
  }
  if (/WRONG_VERSION_NUMBER|packet length too long|http request/i.test(msg) || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return { phase: 'tls', code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'the server did not answer with TLS (plain HTTP on a TLS port?)' };
  }
  if (/excessive message size/i.test(msg)) {
    // OpenSSL (so also Synapse's pyOpenSSL) refuses handshake messages over 100 KB by default:
    // a certificate chain that long (thousands of names, dozens of certificates) never connects.
    return { phase: 'tls', code: code === 'ERROR' ? 'ERR_SSL_EXCESSIVE_MESSAGE_SIZE' : code, message: 'TLS handshake failed: the certificate chain the server sent is larger than OpenSSL accepts (100 KB: "excessive message size")' };
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test(msg) && phaseHint === 'tls') {
    return { phase: 'tls', code, message: `TLS handshake failed: ${msg}` };
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return { phase: 'size', code, message: 'response larger than allowed' };
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return { phase: 'size', code, message: 'response headers too large' };
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO') return { phase: 'http', code, message: `malformed HTTP response (${code})` };
  return { phase: phaseHint, code, message: msg };
}

/** Walk the peer chain Node gives (leaf first) into base64 DER. */
/**
 * The base64 DER of certificates seen in this process, by SHA-256 fingerprint: a batch meets the
 * same intermediates and roots (and often leaves) on every connection, and the evidence keeps one
 * string per certificate instead of one per connection. Bounded; cleared when full.
 */
const derByFingerprint = new Map<string, string>();
function base64Der(cert: tls.PeerCertificate): string {
  let b64 = derByFingerprint.get(cert.fingerprint256);
  if (b64 === undefined) {
    if (derByFingerprint.size >= 5000) derByFingerprint.clear();
    b64 = cert.raw.toString('base64');
    derByFingerprint.set(cert.fingerprint256, b64);
  }
  return b64;
}

/**
 * Walk the peer chain Node gives (leaf first) into base64 DER. `detailed` is the chain Node
 * already built for checkServerIdentity, when it did (getPeerCertificate(true) costs ~1 ms of
 * CPU per call: once per connection is enough).
 */
function chainOf(sock: tls.TLSSocket, detailed?: tls.DetailedPeerCertificate): string[] {
  const out: string[] = [];
  let cert = detailed ?? (sock.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined);
  const seen = new Set<string>();
  while (cert && cert.raw && out.length < 20) {
    const fp = cert.fingerprint256;
    if (seen.has(fp)) break;
    seen.add(fp);
    out.push(base64Der(cert));
    if (!cert.issuerCertificate || cert.issuerCertificate === cert) break;
    cert = cert.issuerCertificate;
  }
  return out;
}

export function tlsEvidenceOf(sock: tls.TLSSocket, servername: string | null, detailed?: tls.DetailedPeerCertificate, checked = true, wholeChain = true): TlsEvidence {
  const cipher = sock.getCipher();
  if (!checked) {
    return {
      protocol: sock.getProtocol() ?? null,
      cipher: cipher?.standardName ?? cipher?.name ?? null,
      alpn: typeof sock.alpnProtocol === 'string' ? sock.alpnProtocol : null,
      servername,
      chainAuthorized: false,
      chainError: 'not checked on this connection',
      chain: [],
      sessionReused: sock.isSessionReused(),
      chainChecked: false,
    };
  }
  return {
    protocol: sock.getProtocol() ?? null,
    cipher: cipher?.standardName ?? cipher?.name ?? null,
    alpn: typeof sock.alpnProtocol === 'string' ? sock.alpnProtocol : null,
    servername,
    chainAuthorized: sock.authorized,
    chainError: sock.authorized ? null : String(sock.authorizationError ?? 'unknown'),
    chain: wholeChain ? chainOf(sock, detailed) : leafOf(sock),
    sessionReused: sock.isSessionReused(),
    ...(wholeChain ? {} : { chainLeafOnly: true as const }),
  };
}

/** The leaf alone, base64 DER (getPeerCertificate(false): ~3 µs, against ~0.8 ms for the chain). */
function leafOf(sock: tls.TLSSocket): string[] {
  const leaf = sock.getPeerCertificate(false);
  return leaf && leaf.raw ? [base64Der(leaf)] : [];
}

/**
 * One client TLS context per trust store, shared by every connection of the run. Building a
 * context from a `ca` list of ~300 PEMs (roots + NODE_EXTRA_CA_CERTS + --cacert) costs ~80 ms of
 * CPU (docs/performance.md): per connection that alone exceeded the network time of a check.
 * With extra CAs we start from Node's default store (parsed once per process, NODE_EXTRA_CA_CERTS
 * included) and add them to this context's own copy of it (~2 ms; the global store is untouched),
 * falling back to the full `ca` list if the native handle lacks `addCACert`.
 * Sharing a context does not resume sessions: Node's client contexts use
 * SSL_SESS_CACHE_NO_INTERNAL, so only an explicit `session` option resumes, and we pass none
 * (test/perf/connection.test.ts checks `sessionReused`).
 */
const secureContexts = new WeakMap<Trust, tls.SecureContext>();
export function secureContextFor(trust: Trust): tls.SecureContext {
  let c = secureContexts.get(trust);
  if (!c) {
    // Accept old protocols so that we can report them rather than fail blind.
    const base: tls.SecureContextOptions = { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' };
    c = tls.createSecureContext(base);
    const native = (c as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
    if (trust.ca) {
      if (typeof native?.addCACert === 'function') for (const pem of trust.extra) native.addCACert(pem);
      else c = tls.createSecureContext({ ...base, ca: trust.ca });
    }
    secureContexts.set(trust, c);
  }
  return c;
}

/**
 * The context for connections whose certificate nobody judges (the proxy prober's lanes and raw
 * sockets, the compatibility probe): the same protocol range and ciphers, and an **empty** trust
 * store. The handshake is the same on the wire; only the client's own work differs: with no CA
 * to chain to, OpenSSL stops verifying at once and Node, seeing a verify error, skips
 * `getPeerCertificate(true)` and `checkServerIdentity` (~1 ms of CPU per connection, the largest
 * client-side cost of a handshake here — docs/performance.md). One per process.
 */
let uncheckedContext: tls.SecureContext | null = null;
export function uncheckedSecureContext(): tls.SecureContext {
  return (uncheckedContext ??= tls.createSecureContext({ minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', ca: [] }));
}

/**
 * Why a TCP connection to this endpoint must not be opened (an EPOLICY error), or null. Every
 * socket fedcheck opens goes through this check:
 * - FEDCHECK_LOOPBACK_ONLY=1 (tests, the lab): nothing off loopback;
 * - a hostile SRV record or redirect can name port 0 (or a number that is no port): nothing can
 *   be reached there — the kernel would pick whatever it likes — so never try.
 */
export function connectRefusal(endpoint: { address: string; port: number }): NodeJS.ErrnoException | null {
  let message: string | null = null;
  if (process.env.FEDCHECK_LOOPBACK_ONLY === '1' && !/^127\./.test(endpoint.address) && endpoint.address !== '::1') {
    message = `refusing to connect to ${endpoint.address}: FEDCHECK_LOOPBACK_ONLY is set`;
  } else if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    message = `refusing to connect to port ${endpoint.port}: not a port a server can listen on`;
  }
  if (message === null) return null;
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = 'EPOLICY';
  return err;
}

/**
 * A connection to one address, shared by all probes of that address. The first request opens
 * it; its TLS facts are kept in `tls`. Requests are pipelined (idempotent ones) on one socket.
 */
export class Connection {
  tls: TlsEvidence | null = null;
  /** error of the last failed connect attempt, with its phase */
  connectError: NetError | null = null;
  private client: Client;
  private phase: NetError['phase'] = 'connect';
  /** sockets opened by this connection, destroyed on close() even mid-handshake */
  private readonly sockets = new Set<net.Socket>();
  private closed = false;
  /** the smallest timeout among the requests waiting for this connection */
  private connectBudget = Infinity;

  /** false: nobody judges this connection's certificate (see {@link uncheckedSecureContext}) */
  private readonly checkCertificate: boolean;
  /** false: verify the chain but keep only the leaf (TlsEvidence.chainLeafOnly) */
  private readonly wholeChain: boolean;

  /**
   * `opts.pipelining`: requests in flight at once (default 16: the client gatherer sends five to
   *   one origin at once, and with a limit of 4 the fifth waited a round trip for a free slot; the
   *   proxy prober sends its probe set at once, with 64).
   * `opts.checkCertificate`: false for connections whose certificate nobody judges.
   * `opts.wholeChain`: false for connections where only the leaf and the verdict on the chain
   *   matter (the HTTPS fetches: well-known, client discovery).
   */
  constructor(private readonly ctx: NetContext, readonly endpoint: Endpoint, opts: { pipelining?: number; checkCertificate?: boolean; wholeChain?: boolean } = {}) {
    this.checkCertificate = opts.checkCertificate !== false;
    this.wholeChain = opts.wholeChain !== false;
    const origin = `${endpoint.scheme}://${hostForUrl(endpoint.address)}:${endpoint.port}`;
    const step = () => Math.max(1, Math.min(ctx.stepTimeoutMs, remaining(ctx)));
    this.client = new Client(origin, {
      pipelining: opts.pipelining ?? 16,
      headersTimeout: step(),
      bodyTimeout: step(),
      keepAliveTimeout: 10_000,
      maxHeaderSize: 64 * 1024,
      connect: (_opts, cb) => this.open(cb, Math.min(step(), this.connectBudget)),
    });
  }

  private open(cb: (...args: [null, net.Socket] | [Error, null]) => void, timeoutMs: number): void {
    const { endpoint, ctx } = this;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const t0 = Date.now();
    const finish = (e: Error | null, s: net.Socket | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        this.connectError = classifyError(e, this.phase);
        s?.destroy();
        ctx.trace?.({ kind: 'error', message: `${endpoint.address}:${endpoint.port} ${this.connectError.message}`, ms: Date.now() - t0 });
        cb(e, null);
      } else cb(null, s!);
    };
    this.phase = 'connect';
    const refused = connectRefusal(endpoint);
    if (refused) {
      this.phase = 'policy';
      queueMicrotask(() => finish(refused, null));
      return;
    }
    const family = net.isIPv6(endpoint.address) ? 6 : 4;
    if (this.closed) {
      const err = new Error('connection closed') as NodeJS.ErrnoException;
      err.code = 'ECONNABORTED';
      queueMicrotask(() => finish(err, null));
      return;
    }
    const tcp = net.connect({ host: endpoint.address, port: endpoint.port, family, noDelay: true });
    this.sockets.add(tcp);
    tcp.once('close', () => this.sockets.delete(tcp));
    timer = setTimeout(() => {
      const err = new Error(
        this.phase === 'connect'
          ? 'connection attempt timed out (no answer to the TCP handshake)'
          : 'TLS handshake timed out (the server accepted the connection but never completed TLS)',
      ) as NodeJS.ErrnoException;
      err.code = this.phase === 'connect' ? 'UND_ERR_CONNECT_TIMEOUT' : 'TLS_HANDSHAKE_TIMEOUT';
      finish(err, tcp);
    }, timeoutMs);
    tcp.once('error', (e) => finish(e, tcp));
    tcp.once('connect', () => {
      ctx.trace?.({ kind: 'connect', message: `connected to ${endpoint.address}:${endpoint.port}`, ms: Date.now() - t0 });
      if (endpoint.scheme === 'http') {
        finish(null, tcp);
        return;
      }
      this.phase = 'tls';
      // Identity is judged later (the tls check); Node calls this only for a trusted chain, with
      // the detailed chain it just built — kept so that tlsEvidenceOf need not build it again.
      let detailed: tls.DetailedPeerCertificate | undefined;
      const opts: tls.ConnectionOptions = {
        socket: tcp,
        rejectUnauthorized: false,
        checkServerIdentity: (_host, cert) => {
          detailed = cert as tls.DetailedPeerCertificate;
          return undefined;
        },
        ALPNProtocols: ['http/1.1'],
        // CA list, minVersion and ciphers live in the shared context (see secureContextFor).
        secureContext: this.checkCertificate ? secureContextFor(ctx.trust) : uncheckedSecureContext(),
        // No session resumption: a resumed session skips certificate validation.
        session: undefined,
      };
      if (endpoint.servername) opts.servername = endpoint.servername;
      const sock = tls.connect(opts);
      if (this.checkCertificate && !this.wholeChain) {
        // For a trusted chain Node itself calls getPeerCertificate(true) — the detailed chain,
        // ~0.8 ms of CPU, the largest client-side cost of a handshake — only to hand it to
        // checkServerIdentity, which here ignores it. This socket keeps only the leaf: give Node
        // the leaf alone while the handshake completes (the identity is judged later, from the
        // leaf, by tlsProblemFor), then restore the method.
        const own = sock.getPeerCertificate;
        sock.getPeerCertificate = ((_detailed?: boolean) => own.call(sock, false)) as typeof sock.getPeerCertificate;
        sock.once('secureConnect', () => {
          sock.getPeerCertificate = own;
        });
      }
      sock.once('error', (e) => finish(e, sock));
      sock.once('secureConnect', () => {
        this.tls = tlsEvidenceOf(sock, endpoint.servername, detailed, this.checkCertificate, this.wholeChain);
        this.phase = 'http';
        ctx.trace?.({
          kind: 'tls',
          message: `TLS ${this.tls.protocol} ${this.tls.cipher} SNI=${endpoint.servername ?? '(none)'} chain=${this.tls.chainChecked === false ? 'not checked' : this.tls.chainAuthorized ? 'trusted' : this.tls.chainError}`,
          ms: Date.now() - t0,
          tls: this.tls,
          peer: { address: endpoint.address, port: endpoint.port },
        });
        finish(null, sock);
      });
    });
  }

  async request(spec: RequestSpec): Promise<HttpExchange> {
    const { endpoint, ctx } = this;
    const t0 = Date.now();
    const method = spec.method ?? 'GET';
    const url = spec.url ?? `${endpoint.scheme}://${spec.hostHeader}${spec.path.startsWith('/') ? '' : '/'}${spec.path}`;
    const base: Omit<HttpExchange, 'response' | 'error' | 'ms' | 'tls'> = {
      url,
      method,
      path: spec.path,
      hostHeader: spec.hostHeader,
      connectAddress: endpoint.address,
      connectPort: endpoint.port,
    };
    const timeout = Math.max(1, Math.min(spec.timeoutMs ?? ctx.stepTimeoutMs, remaining(ctx)));
    const cap = spec.maxBodyBytes ?? DEFAULT_BODY_CAP;
    const signal = AbortSignal.timeout(timeout);
    const headers: Record<string, string> = { host: spec.hostHeader, 'user-agent': ctx.userAgent, accept: 'application/json', ...(spec.headers ?? {}) };
    const exchange = { method, path: spec.path, hostHeader: spec.hostHeader, address: endpoint.address, port: endpoint.port };
    ctx.trace?.({ kind: 'request', message: `> ${method} ${spec.path} Host: ${spec.hostHeader} (${endpoint.address}:${endpoint.port})`, exchange });
    let phase: NetError['phase'] = 'connect';
    if (!this.tls && !this.closed) this.connectBudget = Math.min(this.connectBudget, timeout);
    // undici does not always honour an abort while its connect hook is still running: race it.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        const e = new Error(`no complete answer within ${timeout} ms`) as NodeJS.ErrnoException;
        e.code = 'TimeoutError';
        reject(e);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const res = await Promise.race([aborted, this.client.request({
        method: method as 'GET',
        path: spec.path,
        headers,
        body: spec.body,
        signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        // undici's default (blocking unless HEAD) holds the next pipelined request until this
        // one's headers arrive: one extra round trip per probe on the shared connection.
        blocking: false,
        // undici counts only GET and HEAD as idempotent and sends nothing else while a request is
        // in flight: a CORS preflight (OPTIONS, idempotent by RFC 9110 §9.2.2) queued behind a GET
        // waited a round trip for it, and every request behind the preflight too.
        idempotent: method === 'GET' || method === 'HEAD' || method === 'OPTIONS',
      })]);
      phase = 'http';
      const chunks: Buffer[] = [];
      let bytes = 0;
      let truncated = false;
      // Events, not `for await`: the async iterator costs a promise per chunk, ~20 µs a request.
      const reading = new Promise<void>((resolve, reject) => {
        const body = res.body;
        let ended = false;
        body.on('data', (b: Buffer) => {
          if (truncated) return;
          if (bytes + b.length > cap) {
            chunks.push(b.subarray(0, cap - bytes));
            bytes = cap;
            truncated = true;
            body.destroy();
            resolve();
            return;
          }
          chunks.push(b);
          bytes += b.length;
        });
        body.once('end', () => {
          ended = true;
          resolve();
        });
        body.once('error', (e) => (truncated ? resolve() : reject(e)));
        body.once('close', () => {
          if (ended || truncated) return resolve();
          const e = new Error('Premature close') as NodeJS.ErrnoException;
          e.code = 'ERR_STREAM_PREMATURE_CLOSE';
          reject(e);
        });
      });
      reading.catch(() => undefined);
      try {
        await Promise.race([aborted, reading]);
      } catch (e) {
        res.body.destroy();
        throw e;
      }
      const response: HttpResponseEvidence = {
        status: res.statusCode,
        httpVersion: '1.1',
        headers: normaliseHeaders(res.headers),
        body: Buffer.concat(chunks).toString('utf8'),
        bodyBytes: bytes,
        truncated,
      };
      ctx.trace?.({ kind: 'response', message: `< ${res.statusCode} (${bytes} bytes${truncated ? ', truncated' : ''})`, ms: Date.now() - t0, exchange });
      return { ...base, tls: this.tls, response, error: null, ms: Date.now() - t0 };
    } catch (e) {
      // A failure inside our connect hook carries its own phase.
      // Before any response the phase is the connection's own (connect → tls → http).
      const where = phase === 'connect' ? (this.tls ? 'http' : this.phase) : phase;
      let error = this.connectError && phase === 'connect' ? this.connectError : classifyError(e, where);
      if (signal.aborted && phase === 'connect' && !this.connectError) {
        error = where === 'tls'
          ? { phase: 'timeout', code: 'TLS_HANDSHAKE_TIMEOUT', message: `TLS handshake not completed within ${timeout} ms (the server accepted the connection but never finished TLS)` }
          : where === 'connect'
            ? { phase: 'timeout', code: 'ETIMEDOUT', message: `connection attempt timed out after ${timeout} ms (no answer to the TCP handshake)` }
            : { phase: 'timeout', code: 'ETIMEDOUT', message: `no response within ${timeout} ms` };
      }
      if (signal.aborted && error.phase !== 'timeout') {
        error.phase = 'timeout';
        error.message = `no complete answer within ${timeout} ms (${error.message})`;
      }
      ctx.trace?.({ kind: 'error', message: `${method} ${spec.path}: ${error.message}`, ms: Date.now() - t0, exchange });
      return { ...base, tls: this.tls, response: null, error, ms: Date.now() - t0 };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Tear down, pending handshakes included (a silent server must not hold us): nothing new is
   * sent from now on, and the sockets are destroyed on the next turn of the event loop. Tearing
   * down a TLS connection costs ~0.25 ms of CPU (undici builds an error for every closed
   * socket); the evidence is complete by now, and a run's report — judged synchronously after
   * its last await — need not wait for a few dozen of them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      void this.client.destroy().catch(() => undefined);
    });
  }
}

/**
 * The per-address probe connections of one run, lent to the other probes of the same address
 * that need only a request or two on it (the compatibility probe): each handshake costs both ends
 * about a millisecond of CPU, the largest per-connection cost of a batch. A borrower's requests
 * are queued behind the owner's, so nothing it does can disturb them; the connection is closed
 * when its last user is done.
 */
export class ConnectionShare {
  private readonly entries = new Map<string, { conn: Connection; users: number }>();
  private readonly keys = new Map<Connection, string>();

  private static key(ep: Endpoint): string {
    return `${ep.scheme}|${ep.address}|${ep.port}|${ep.servername ?? ''}`;
  }

  /** The owner's connection, with one user (the owner). */
  register(conn: Connection): void {
    const key = ConnectionShare.key(conn.endpoint);
    if (this.entries.has(key)) return;
    this.entries.set(key, { conn, users: 1 });
    this.keys.set(conn, key);
  }

  /** The registered connection to exactly this endpoint, one more user; null if there is none. */
  borrow(ep: Endpoint): Connection | null {
    const e = this.entries.get(ConnectionShare.key(ep));
    if (!e) return null;
    e.users++;
    return e.conn;
  }

  /** One user fewer; the last one closes the connection. An unshared connection is closed. */
  async release(conn: Connection): Promise<void> {
    const key = this.keys.get(conn);
    const e = key !== undefined ? this.entries.get(key) : undefined;
    if (!e) return conn.close();
    if (--e.users > 0) return;
    this.entries.delete(key!);
    this.keys.delete(conn);
    return conn.close();
  }
}

function normaliseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = v;
  }
  return out;
}

/** First header value, lower-cased name. */
export function header(res: HttpResponseEvidence | null | undefined, name: string): string | undefined {
  const v = res?.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** At most this many addresses of a name are tried by {@link fetchUrl}. */
export const MAX_ROUTE_ADDRESSES = 10;

/**
 * Where does a connection to logical host:port go? Applies --resolve / --connect-to, then DNS
 * through the run's resolver, then address-keyed --connect-to. Returns the endpoints to try in order.
 */
export async function routeFor(ctx: NetContext, host: string, port: number): Promise<{ endpoints: Array<{ address: string; port: number; logicalAddress: string }>; error: NetError | null }> {
  const h = host.replace(/^\[|\]$/g, '');
  const pinned = ctx.connectMap.pinned(h, port);
  let addresses: string[];
  let targetPort = port;
  let lookupError: NetError | null = null;
  if (pinned) addresses = pinned;
  else {
    const via = ctx.connectMap.byHost(h, port);
    const name = via ? via.host : h;
    if (via) targetPort = via.port;
    if (net.isIP(name)) addresses = [name];
    else {
      const r = await ctx.dns.addresses(name);
      addresses = r.addresses;
      if (addresses.length === 0) {
        const failed = [r.a, r.aaaa].find((l) => l && l.error);
        lookupError = failed?.error ?? { phase: 'dns', code: 'ENOTFOUND', message: `${name} has no ${ctx.family === 4 ? 'A' : ctx.family === 6 ? 'AAAA' : 'A or AAAA'} record` };
      }
    }
  }
  // An ordinary client tries the addresses one after the other; a hostile answer can hold
  // thousands, so only the first few are tried.
  addresses = addresses.filter((a) => ctx.family === 0 || net.isIP(a) === ctx.family).slice(0, MAX_ROUTE_ADDRESSES);
  const endpoints = addresses.map((a) => {
    const m = ctx.connectMap.byAddress(a, targetPort);
    return { address: m && net.isIP(m.host) ? m.host : a, port: m ? m.port : targetPort, logicalAddress: a };
  });
  if (endpoints.length === 0 && !lookupError) lookupError = { phase: 'dns', code: 'ENOADDR', message: `no usable address for ${h}` };
  return { endpoints, error: lookupError };
}

/**
 * One HTTPS GET of an absolute URL the way an ordinary HTTPS client does it (used for
 * /.well-known/*): normal SNI and Host, addresses tried in order until one connects.
 * No redirects are followed here (callers decide); for several requests to one origin on one
 * connection, use probes/follow.ts' ConnectionPool.
 */
export async function fetchUrl(
  ctx: NetContext,
  url: URL,
  spec: Omit<RequestSpec, 'hostHeader' | 'path'> & { headers?: Record<string, string> } = {},
): Promise<HttpExchange> {
  const scheme = url.protocol === 'http:' ? 'http' : 'https';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? +url.port : scheme === 'https' ? 443 : 80;
  const path = url.pathname + url.search;
  const hostHeader = url.host;
  const t0 = Date.now();
  const { endpoints, error } = await routeFor(ctx, host, port);
  if (endpoints.length === 0) {
    return { url: url.href, method: spec.method ?? 'GET', path, hostHeader, connectAddress: '', connectPort: port, tls: null, response: null, error, ms: Date.now() - t0 };
  }
  let last: HttpExchange | null = null;
  for (const ep of endpoints) {
    const conn = new Connection(ctx, { scheme, address: ep.address, port: ep.port, servername: scheme === 'https' && !net.isIP(host) ? host : null }, { wholeChain: false });
    const ex = await conn.request({ ...spec, path, hostHeader, url: url.href });
    await conn.close();
    last = ex;
    // Only connection-level failures move on to the next address, as an HTTPS client does.
    if (!(ex.error && ex.error.phase === 'connect')) break;
    if (remaining(ctx) <= 0) break;
  }
  last!.ms = Date.now() - t0;
  return last!;
}
