/**
 * What the reverse proxy does to requests — evidence only, no verdicts (checks/uri-canonicalization,
 * forwarded-headers, upload-limit, admin-exposure judge it).
 *
 * For one endpoint (address, port, SNI, Host — from the resolution or the client base URL):
 * 1. Is the stand-in backend (`fedcheck backend`) behind the proxy? A request carrying
 *    `X-Fedcheck-Probe` comes back as an echo of what arrived → **exact mode**. Otherwise
 *    **live mode** (a real homeserver, or nothing).
 * 2. Exact mode: the probe set (core/proxy-probes.ts) on one `Connection` (pipelined), the edge
 *    probes on raw sockets (no HTTP library would send them), two header probes (with and without a
 *    client-supplied X-Forwarded-For). Each result keeps the target sent and the target echoed.
 * 3. Live mode: pairs of requests that differ only by an encoded '/' (or a dot segment) in an ID,
 *    on routes a homeserver answers with an auth error; a change in the answer's class shows what
 *    the proxy did to the path. Whatever cannot be seen from outside is left to the check to say.
 * 4. Both modes: the upload limit (declared Content-Length + `Expect: 100-continue`, no body sent;
 *    the candidate sizes of each search round declared at once) and the admin paths.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { HttpExchange, NetError } from '../core/types.js';
import { buildProbeSet, type EndpointRole, type TargetProbe } from '../core/proxy-probes.js';
import { classifyError, connectRefusal, Connection, fetchUrl, hostForUrl, routeFor, uncheckedSecureContext, type Endpoint, type NetContext, type RequestSpec } from '../net/http.js';
import { clientBaseUrlOf } from './client.js';
import { BACKEND_SERVER_NAME, ECHO_MARKER, PROBE_HEADER, type EchoRecord } from '../core/echo-protocol.js';
import type { GatherContext, Gatherer } from './gatherers.js';

// ---------------------------------------------------------------------------------------------
// Evidence (plain JSON)
// ---------------------------------------------------------------------------------------------

/** A response that was not an echo, in short. */
export interface ProbeResponse {
  status: number;
  /** the `Server` header, if any */
  server: string | null;
  contentType: string | null;
  /** `errcode` when the body is a Matrix error object */
  errcode: string | null;
  /** the body is JSON (an object) */
  json: boolean;
  /** first 300 characters of the body */
  bodySnippet: string;
}

/** What the stand-in echoed, without the bulk. */
export interface EchoSummary {
  rawTarget: string;
  rawTargetBase64?: string;
  method: string;
  httpVersion: string;
  parseError?: string;
}

export interface TargetProbeResult {
  probe: TargetProbe;
  echo: EchoSummary | null;
  /** the response when it was not an echo (the proxy, or a homeserver, answered itself) */
  response: ProbeResponse | null;
  error: NetError | null;
  ms: number;
}

export interface HeaderProbeResult {
  target: string;
  /** request headers fedcheck sent (besides Host/User-Agent/Accept) */
  sentHeaders: Record<string, string>;
  hostHeader: string;
  echo: EchoRecord | null;
  response: ProbeResponse | null;
  error: NetError | null;
}

export interface ForwardedEvidence {
  /** no client-supplied forwarding headers */
  plain: HeaderProbeResult;
  /** with `X-Forwarded-For: <spoofedAddress>` */
  spoofed: HeaderProbeResult;
  spoofedAddress: string;
}

export interface UploadAttempt {
  declared: number;
  /** continue: 100 Continue; refused: 413; final: another final status; no-response: nothing within the wait */
  outcome: 'continue' | 'refused' | 'final' | 'no-response' | 'error';
  status: number | null;
  errcode: string | null;
  server: string | null;
  ms: number;
  error?: string;
}

export interface UploadEvidence {
  method: 'POST' | 'PUT';
  target: string;
  technique: 'expect-100-continue';
  /** the size judged against (the homeserver's usual limit for this endpoint's role) */
  thresholdBytes: number;
  thresholdReason: string;
  attempts: UploadAttempt[];
  /** largest declared size not refused, smallest refused (null when none) */
  largestAccepted: number | null;
  smallestRefused: number | null;
  /** 413 came with a Matrix error body: the homeserver's own limit, not the proxy's */
  refusedByHomeserver: boolean;
  /** request body bytes actually sent (always 0: only headers are sent) */
  bodyBytesSent: number;
}

export interface AdminProbe {
  id: string;
  implementation: string;
  /** the prefix that matters, e.g. /_synapse/admin/ */
  prefix: string;
  target: string;
}

export interface AdminProbeResult extends AdminProbe {
  /** exact mode: the proxy forwarded it to the stand-in */
  forwarded: boolean;
  response: ProbeResponse | null;
  error: NetError | null;
}

export interface LiveExchange {
  target: string;
  response: ProbeResponse | null;
  error: NetError | null;
}

export interface LiveRoutingProbe {
  id: string;
  api: 'federation' | 'client';
  /** what differs between control and test */
  feature: 'encoded-slash' | 'dot-segment';
  what: string;
  control: LiveExchange;
  test: LiveExchange;
}

export interface ProxyEndpointEvidence {
  /** human label: `federation endpoint` / `client base URL https://…` */
  label: string;
  /** `address:port` for Finding.target */
  target: string;
  role: EndpointRole;
  scheme: 'https' | 'http';
  address: string;
  port: number;
  servername: string | null;
  hostHeader: string;
  /** the client base URL, for client endpoints */
  baseUrl: string | null;
  mode: 'exact' | 'live' | 'unreachable';
  modeReason: string;
  connectError: NetError | null;
  /** distinct `Server` response headers seen, most frequent first */
  serverHeaders: string[];
  /** this machine's address on the connections (what X-Forwarded-For should carry, NAT aside) */
  clientAddress: string | null;
  nonce: string;
  targets: TargetProbeResult[];
  forwarded: ForwardedEvidence | null;
  upload: UploadEvidence | null;
  admin: AdminProbeResult[];
  live: LiveRoutingProbe[] | null;
  ms: number;
}

/** `ServerEvidence.extra.proxy` */
export interface ProxyEvidence {
  endpoints: ProxyEndpointEvidence[];
  /** why some endpoint was not probed (no resolution, no client base URL, …) */
  notes: string[];
}

/** Input for one endpoint. */
export interface ProxyProbeInput {
  endpoint: Endpoint;
  hostHeader: string;
  role: EndpointRole;
  label: string;
  /** logical address:port for findings (defaults to the connected one) */
  target?: string;
  baseUrl?: string | null;
  /** skip the upload search (tests) */
  upload?: boolean;
  /** per-attempt wait for the upload probe, ms (default 2000) */
  uploadWaitMs?: number;
  /**
   * send the exact-mode probes before the mode is known (default true: fewer round trips);
   * false stages them behind the mode detection (less work when the endpoint is live)
   */
  speculative?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const SPOOFED_XFF = '192.0.2.44';
export const MIB = 1024 * 1024;
/** Synapse's default max_upload_size (the homeserver default in most deployment guides). */
export const CLIENT_UPLOAD_THRESHOLD = 50 * MIB;
/** 50 PDUs of at most 64 KiB plus EDUs: the largest federation transaction, rounded up. */
export const FEDERATION_BODY_THRESHOLD = 4 * MIB;
const COMMON_LIMITS = [1 * MIB, 2 * MIB, 5 * MIB, 8 * MIB, 10 * MIB, 16 * MIB, 20 * MIB, 25 * MIB, 32 * MIB, 40 * MIB, 50 * MIB, 64 * MIB, 100 * MIB];

/**
 * Admin APIs that must not answer from the internet. (conduwuit/continuwuity have no HTTP admin
 * API — they are administered through an admin room — and their `/_conduwuit/*` endpoints are
 * public by design, so they are not probed.)
 */
export const ADMIN_PROBES: AdminProbe[] = [
  { id: 'synapse-version', implementation: 'Synapse', prefix: '/_synapse/admin/', target: '/_synapse/admin/v1/server_version' },
  { id: 'synapse-users', implementation: 'Synapse', prefix: '/_synapse/admin/', target: '/_synapse/admin/v2/users?limit=1' },
  { id: 'palpo-admin', implementation: 'Palpo', prefix: '/_palpo/admin/', target: '/_palpo/admin/v1/server_version' },
  { id: 'dendrite-admin', implementation: 'Dendrite', prefix: '/_dendrite/admin/', target: '/_dendrite/admin/evacuateRoom/%21fedcheck%3Aexample.org' },
];

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function firstHeader(h: Record<string, string | string[]>, name: string): string | null {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function summariseResponse(status: number, headers: Record<string, string | string[]>, body: string): ProbeResponse {
  let errcode: string | null = null;
  let isJson = false;
  try {
    const j = JSON.parse(body) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) {
      isJson = true;
      const e = (j as Record<string, unknown>).errcode;
      if (typeof e === 'string') errcode = e;
    }
  } catch {
    /* not JSON */
  }
  return {
    status,
    server: firstHeader(headers, 'server'),
    contentType: firstHeader(headers, 'content-type'),
    errcode,
    json: isJson,
    bodySnippet: body.slice(0, 300),
  };
}

function parseEcho(body: string): EchoRecord | null {
  try {
    const j = JSON.parse(body) as EchoRecord;
    return j && typeof j === 'object' && j[ECHO_MARKER] === 1 && typeof j.rawTarget === 'string' ? j : null;
  } catch {
    return null;
  }
}

function echoSummary(e: EchoRecord): EchoSummary {
  const s: EchoSummary = { rawTarget: e.rawTarget, method: e.method, httpVersion: e.httpVersion };
  if (e.rawTargetBase64) s.rawTargetBase64 = e.rawTargetBase64;
  if (e.parseError) s.parseError = e.parseError;
  return s;
}

function remaining(ctx: NetContext): number {
  return Math.max(0, ctx.deadline - Date.now());
}

/** Run tasks with at most `limit` in flight, preserving order of results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over our own socket (edge probes, upload probes)
// ---------------------------------------------------------------------------------------------

export interface RawResult {
  status: number | null;
  headers: Record<string, string | string[]>;
  body: string;
  localAddress: string | null;
  error: NetError | null;
  /** nothing came back within the wait (not an error for the upload probe) */
  silent: boolean;
  ms: number;
}

function parseHead(text: string): { status: number; headers: Record<string, string | string[]> } | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string | string[]> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { status: +m[1]!, headers };
}

function dechunk(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Send `head` (a complete request head, no body) on a fresh connection and read one response.
 * `stopOnInterim`: return on a `100 Continue` instead of waiting for the final response.
 * `waitMs`: how long to wait for the response head; silence is reported, not an error.
 */
export function rawRequest(ctx: NetContext, ep: Endpoint, head: Buffer, opts: { waitMs: number; stopOnInterim?: boolean; maxBody?: number }): Promise<RawResult> {
  const t0 = Date.now();
  const maxBody = opts.maxBody ?? 16 * 1024;
  return new Promise((resolve) => {
    let done = false;
    let sock: net.Socket | tls.TLSSocket | null = null;
    let localAddress: string | null = null;
    let buf = Buffer.alloc(0);
    let phase: NetError['phase'] = 'connect';
    const finish = (r: Omit<RawResult, 'ms' | 'localAddress'>) => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      clearTimeout(waitTimer);
      sock?.destroy();
      resolve({ ...r, localAddress, ms: Date.now() - t0 });
    };
    const stepMs = Math.max(1, Math.min(ctx.stepTimeoutMs, remaining(ctx)));
    const connectTimer = setTimeout(() => {
      finish({ status: null, headers: {}, body: '', error: classifyError(Object.assign(new Error('timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), phase), silent: false });
    }, stepMs);
    let waitTimer: NodeJS.Timeout | undefined;
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const he = buf.indexOf('\r\n\r\n');
        if (he < 0) return;
        const parsed = parseHead(buf.subarray(0, he).toString('latin1'));
        if (!parsed) {
          finish({ status: null, headers: {}, body: '', error: { phase: 'http', code: 'HPE_INVALID', message: 'malformed HTTP response' }, silent: false });
          return;
        }
        if (parsed.status >= 100 && parsed.status < 200) {
          if (opts.stopOnInterim) {
            finish({ status: parsed.status, headers: parsed.headers, body: '', error: null, silent: false });
            return;
          }
          buf = buf.subarray(he + 4);
          continue;
        }
        const rest = buf.subarray(he + 4);
        const cl = firstHeader(parsed.headers, 'content-length');
        const chunked = /chunked/i.test(firstHeader(parsed.headers, 'transfer-encoding') ?? '');
        const complete = () => {
          const body = chunked ? dechunk(rest) : rest.subarray(0, cl !== null ? +cl : rest.length);
          finish({ status: parsed.status, headers: parsed.headers, body: body.subarray(0, maxBody).toString('utf8'), error: null, silent: false });
        };
        if (cl !== null && rest.length >= +cl) return complete();
        if (chunked && rest.includes('\r\n0\r\n\r\n')) return complete();
        if (rest.length >= maxBody) return complete();
        sock!.once('end', complete);
        sock!.once('close', complete);
        return;
      }
    };
    const onReady = (s: net.Socket | tls.TLSSocket) => {
      clearTimeout(connectTimer);
      phase = 'http';
      localAddress = s.localAddress ?? null;
      s.on('data', onData);
      s.once('close', () => {
        if (!done) finish({ status: null, headers: {}, body: '', error: { phase: 'http', code: 'ECONNRESET', message: 'the connection was closed without a response' }, silent: false });
      });
      waitTimer = setTimeout(() => finish({ status: null, headers: {}, body: '', error: null, silent: true }), Math.max(1, Math.min(opts.waitMs, remaining(ctx))));
      s.write(head);
    };
    const refused = connectRefusal(ep);
    if (refused) return finish({ status: null, headers: {}, body: '', error: classifyError(refused, 'connect'), silent: false });
    const family = net.isIPv6(ep.address) ? 6 : 4;
    const tcp = net.connect({ host: ep.address, port: ep.port, family, noDelay: true });
    sock = tcp;
    tcp.once('error', (e) => finish({ status: null, headers: {}, body: '', error: classifyError(e, phase), silent: false }));
    tcp.once('connect', () => {
      if (ep.scheme === 'http') return onReady(tcp);
      phase = 'tls';
      // A shared context (a `ca` list here would build one per connection, ~80 ms of CPU each),
      // and the unchecked one: nobody judges this connection's certificate (docs/performance.md).
      const o: tls.ConnectionOptions = { socket: tcp, rejectUnauthorized: false, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'], secureContext: uncheckedSecureContext() };
      if (ep.servername) o.servername = ep.servername;
      const t = tls.connect(o);
      sock = t;
      t.once('error', (e) => finish({ status: null, headers: {}, body: '', error: classifyError(e, phase), silent: false }));
      t.once('secureConnect', () => onReady(t));
    });
  });
}

function requestHead(method: string, target: string, hostHeader: string, headers: Record<string, string>): Buffer {
  const lines = [`${method} `, ' HTTP/1.1\r\n', `Host: ${hostHeader}\r\n`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`), '\r\n'];
  return Buffer.concat([Buffer.from(lines[0]!, 'latin1'), Buffer.from(target, 'utf8'), Buffer.from(lines.slice(1).join(''), 'latin1')]);
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

/** Probe one endpoint. Never throws; failures are evidence. */
export async function probeProxy(ctx: NetContext, input: ProxyProbeInput): Promise<ProxyEndpointEvidence> {
  const t0 = Date.now();
  const nonce = randomBytes(4).toString('hex');
  const { endpoint, hostHeader, role } = input;
  const ev: ProxyEndpointEvidence = {
    label: input.label,
    target: input.target ?? `${hostForUrl(endpoint.address)}:${endpoint.port}`,
    role,
    scheme: endpoint.scheme,
    address: endpoint.address,
    port: endpoint.port,
    servername: endpoint.servername,
    hostHeader,
    baseUrl: input.baseUrl ?? null,
    mode: 'unreachable',
    modeReason: '',
    connectError: null,
    serverHeaders: [],
    clientAddress: null,
    nonce,
    targets: [],
    forwarded: null,
    upload: null,
    admin: [],
    live: null,
    ms: 0,
  };
  const servers = new Map<string, number>();
  const noteServer = (s: string | null | undefined) => {
    if (s) servers.set(s, (servers.get(s) ?? 0) + 1);
  };
  const ua = ctx.userAgent;
  let seq = 0;
  const probeHeaders = (extra: Record<string, string> = {}) => ({ [PROBE_HEADER]: `${nonce}.${++seq}`, ...extra });
  const detectPath = role === 'client' ? '/_matrix/client/versions' : '/_matrix/federation/v1/version';

  // Two schedules (docs/performance.md):
  // - speculative (one server name, the default): everything is sent at once, before the mode is
  //   known — each sequential stage here used to put round trips after everything else a check
  //   does. What the mode turns out not to need is dropped. Two lanes: each handshake costs
  //   both ends ~1 ms of CPU, and with four the burst of ~60 requests an address took longer.
  // - staged (a batch, where CPU, not round trips, is the limit): the requests both modes need
  //   first; the exact-mode target and edge probes — most of the requests — only once the plain
  //   header probe has shown the stand-in backend (one more round trip, in exact mode only) —
  //   and one lane: a handshake is the dearest thing a name costs here, and a proxy that closes
  //   the connection after a probe costs the requests behind it a round trip.
  // The requests that go through an HTTP client — the two header probes (the plain one also tells
  // the modes apart: an echo from the stand-in backend means exact mode), the admin paths, the
  // live-mode pairs and the exact-mode target probes — are pipelined over a few connections
  // ("lanes"), so that a probe after which the proxy closes its connection takes down only the
  // requests behind it on that lane; those are sent again once on a fresh connection (a closed
  // connection is not something the proxy did to the request). The edge probes go on raw sockets,
  // one each; the upload probe on raw sockets of its own. The evidence is the same either way.
  const speculative = input.speculative !== false;
  const LANES = speculative ? 2 : 1;
  const conns: Connection[] = [];
  const open = (): Connection => {
    const c = new Connection(ctx, endpoint, { pipelining: 64, checkCertificate: false });
    conns.push(c);
    return c;
  };
  const lanes = Array.from({ length: LANES }, open);
  const retryLanes = new Map<number, Connection>();
  // Per lane, in sending order: the first request that timed out on a lane is the one the proxy
  // held; the requests pipelined behind it timed out because of it, and are sent again.
  const laneChain: Array<Promise<unknown>> = lanes.map(() => Promise.resolve());
  const laneTimedOut: boolean[] = lanes.map(() => false);
  let sent = 0;
  const send = (spec: RequestSpec): Promise<HttpExchange> => {
    const l = sent++ % LANES;
    const first = lanes[l]!.request(spec);
    const mine = laneChain[l]!.then(async () => {
      const ex = await first;
      if (!ex.error || remaining(ctx) <= 0 || ex.error.phase === 'policy') return { ex, retry: false };
      if (ex.error.phase === 'timeout' && !laneTimedOut[l]) {
        laneTimedOut[l] = true;
        return { ex, retry: false };
      }
      return { ex, retry: true };
    });
    laneChain[l] = mine;
    return mine.then(({ ex, retry }) => {
      if (!retry) return ex;
      let c = retryLanes.get(l);
      if (!c) retryLanes.set(l, (c = open()));
      return c.request(spec);
    });
  };

  try {
    const hpSpecs = ([{}, { 'X-Forwarded-For': SPOOFED_XFF }] as Array<Record<string, string>>).map((extra: Record<string, string>) => ({ extra, answer: send({ path: detectPath, hostHeader, headers: probeHeaders(extra) }) }));
    const adminJobs = ADMIN_PROBES.map((a) => ({ a, answer: send({ path: a.target, hostHeader, headers: probeHeaders() }) }));
    const probes = buildProbeSet(role, nonce);
    const rawServers: Array<string | null> = [];
    const rawAddresses: Array<string | null> = [];
    const sendViaClient = () => probes.filter((p) => !p.raw).map((p) => ({ p, answer: send({ path: p.target, hostHeader, headers: probeHeaders() }) }));
    const startRaws = () =>
      Promise.all(
        probes.filter((p) => p.raw).map(async (p): Promise<TargetProbeResult> => {
          const head = requestHead('GET', p.target, hostHeader, { 'User-Agent': ua, Accept: 'application/json', ...probeHeaders(), Connection: 'close' });
          const r = await rawRequest(ctx, endpoint, head, { waitMs: ctx.stepTimeoutMs });
          rawAddresses.push(r.localAddress);
          rawServers.push(firstHeader(r.headers, 'server'));
          const echo = r.status !== null ? parseEcho(r.body) : null;
          return {
            probe: p,
            echo: echo ? echoSummary(echo) : null,
            response: r.status !== null && !echo ? summariseResponse(r.status, r.headers, r.body) : null,
            error: r.error ?? (r.silent ? { phase: 'timeout', code: 'ETIMEDOUT', message: 'no response' } : null),
            ms: r.ms,
          };
        }),
      );
    let raws = speculative ? startRaws() : null;
    const uploadServers: Array<string | null> = [];
    const uploadAddresses: Array<string | null> = [];
    const upload =
      input.upload !== false && remaining(ctx) > 0
        ? probeUpload(ctx, endpoint, hostHeader, role, nonce, input.uploadWaitMs ?? 2000, ua, (r) => {
            uploadAddresses.push(r.localAddress);
            uploadServers.push(firstHeader(r.headers, 'server'));
          }, probeHeaders)
        : Promise.resolve(null);
    // Every lane, raw socket and the upload socket is opening now. Let them (and those of the
    // run's other probes) connect and send their ClientHellos before the bulk of the requests is
    // built: a handshake takes two round trips, ample time to queue the rest, while building it
    // first (~10 ms of CPU for both addresses) delayed every handshake of the run by as much.
    // (Two turns: sockets opened in this poll phase report their connections in the next one;
    // a single setImmediate would run before it.)
    await new Promise<void>((r) => setImmediate(() => setImmediate(r)));
    const pairs = liveRoutingPairs(role, nonce).map((p) => ({
      p,
      control: send({ path: p.control, hostHeader, maxBodyBytes: 8192 }),
      test: send({ path: p.test, hostHeader, maxBodyBytes: 8192 }),
    }));
    let viaClient = speculative ? sendViaClient() : null;
    const allAnswers = () => [...hpSpecs.map((h) => h.answer), ...adminJobs.map((a) => a.answer), ...pairs.flatMap((p) => [p.control, p.test]), ...(viaClient?.map((v) => v.answer) ?? []), raws, upload];

    // 1. Who answers? The plain header probe is the request the mode is told by.
    const det = await hpSpecs[0]!.answer;
    if (det.error || !det.response) {
      ev.connectError = lanes[0]!.connectError ?? det.error;
      ev.mode = 'unreachable';
      ev.modeReason = `no answer on ${detectPath}: ${det.error?.message ?? 'no response'}`;
      await Promise.all(allAnswers());
      return ev;
    }
    noteServer(firstHeader(det.response.headers, 'server'));
    const detEcho = parseEcho(det.response.body);
    if (detEcho && detEcho.server === BACKEND_SERVER_NAME) {
      ev.mode = 'exact';
      ev.modeReason = `the stand-in backend (${BACKEND_SERVER_NAME}, server name ${detEcho.serverName}) echoed a probe sent to ${detectPath}`;
    } else {
      ev.mode = 'live';
      ev.modeReason = `no echo from ${detectPath} (HTTP ${det.response.status}): a homeserver (or something else) answers, not the stand-in backend`;
    }

    const summarise = (ex: HttpExchange, echo: EchoRecord | null) => (ex.response && !echo ? summariseResponse(ex.response.status, ex.response.headers, ex.response.body) : null);
    if (ev.mode === 'exact') {
      // 2. Target probes (staged: sent now, on the lanes the header probes opened)
      viaClient ??= sendViaClient();
      raws ??= startRaws();
      const clientResults = await Promise.all(
        viaClient.map(async ({ p, answer }): Promise<TargetProbeResult> => {
          const ex = await answer;
          noteServer(ex.response ? firstHeader(ex.response.headers, 'server') : null);
          const echo = ex.response ? parseEcho(ex.response.body) : null;
          return { probe: p, echo: echo ? echoSummary(echo) : null, response: summarise(ex, echo), error: ex.error, ms: ex.ms };
        }),
      );
      const rawResults = await raws;
      for (const s of rawServers) noteServer(s);
      for (const a of rawAddresses) ev.clientAddress ??= a;
      ev.targets = [...clientResults, ...rawResults];
      // 3. Forwarded headers
      const [plain, spoofed] = await Promise.all(
        hpSpecs.map(async ({ extra, answer }): Promise<HeaderProbeResult> => {
          const ex = await answer;
          const echo = ex.response ? parseEcho(ex.response.body) : null;
          return { target: detectPath, sentHeaders: extra, hostHeader, echo, response: summarise(ex, echo), error: ex.error };
        }),
      );
      ev.forwarded = { plain: plain!, spoofed: spoofed!, spoofedAddress: SPOOFED_XFF };
    } else {
      // 3'. Live routing
      const ask = async (target: string, answer: Promise<HttpExchange>): Promise<LiveExchange> => {
        const ex = await answer;
        return { target, response: ex.response ? summariseResponse(ex.response.status, ex.response.headers, ex.response.body) : null, error: ex.error };
      };
      ev.live = await Promise.all(
        pairs.map(async ({ p, control, test }) => {
          const [c, t] = await Promise.all([ask(p.control, control), ask(p.test, test)]);
          return { id: p.id, api: p.api, feature: p.feature, what: p.what, control: c, test: t };
        }),
      );
      for (const l of ev.live) {
        noteServer(l.control.response?.server);
        noteServer(l.test.response?.server);
      }
    }

    // 4. Admin paths (both modes; with the probe header, so forwarding to the stand-in shows as an echo)
    ev.admin = await Promise.all(
      adminJobs.map(async ({ a, answer }): Promise<AdminProbeResult> => {
        const ex = await answer;
        const echo = ex.response ? parseEcho(ex.response.body) : null;
        noteServer(ex.response ? firstHeader(ex.response.headers, 'server') : null);
        return { ...a, forwarded: echo !== null, response: summarise(ex, echo), error: ex.error };
      }),
    );

    // 5. Upload limit
    ev.upload = await upload;
    for (const s of uploadServers) noteServer(s);
    for (const a of uploadAddresses) ev.clientAddress ??= a;
    // speculative raw probes the mode did not need: their sockets end with them
    if (ev.mode !== 'exact' && raws) await raws;
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    ev.serverHeaders = [...servers.entries()].sort((a, b) => b[1] - a[1]).map(([s]) => s);
    ev.ms = Date.now() - t0;
  }
  return ev;
}

// ---------------------------------------------------------------------------------------------
// Live mode
// ---------------------------------------------------------------------------------------------

/** Control/test pairs for live mode: the same route, the test ID with an encoded '/'. */
export function liveRoutingPairs(role: EndpointRole, nonce: string): Array<Omit<LiveRoutingProbe, 'control' | 'test'> & { control: string; test: string }> {
  const n = nonce.replace(/[^A-Za-z0-9]/g, '');
  const out: Array<Omit<LiveRoutingProbe, 'control' | 'test'> & { control: string; test: string }> = [];
  if (role !== 'client') {
    out.push({
      id: 'live-fed-event-slash',
      api: 'federation',
      feature: 'encoded-slash',
      what: 'GET /_matrix/federation/v1/event/{eventId} with a room v3 event ID containing %2F',
      control: `/_matrix/federation/v1/event/%24fc${n}AbCd`,
      test: `/_matrix/federation/v1/event/%24fc${n}Ab%2FCd`,
    });
    out.push({
      id: 'live-fed-join-slash',
      api: 'federation',
      feature: 'encoded-slash',
      what: 'GET /_matrix/federation/v1/make_join/{roomId}/{userId} with a user ID containing %2F',
      control: `/_matrix/federation/v1/make_join/%21fc${n}%3Aexample.org/%40fc${n}%3Aexample.org?ver=10`,
      test: `/_matrix/federation/v1/make_join/%21fc${n}%3Aexample.org/%40fc${n}%2Fx%3Aexample.org?ver=10`,
    });
  }
  if (role !== 'federation') {
    out.push({
      id: 'live-client-event-slash',
      api: 'client',
      feature: 'encoded-slash',
      what: 'GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} with an event ID containing %2F',
      control: `/_matrix/client/v3/rooms/%21fc${n}%3Aexample.org/event/%24fc${n}AbCd`,
      test: `/_matrix/client/v3/rooms/%21fc${n}%3Aexample.org/event/%24fc${n}Ab%2FCd`,
    });
  }
  out.push({
    id: 'live-dot-segment',
    api: role === 'client' ? 'client' : 'federation',
    feature: 'dot-segment',
    what: 'a path with a dot segment that resolves to the version endpoint',
    control: role === 'client' ? '/_matrix/client/versions' : '/_matrix/federation/v1/version',
    test: role === 'client' ? `/_matrix/client/fc${n}/../versions` : `/_matrix/federation/v1/fc${n}/../version`,
  });
  return out;
}


// ---------------------------------------------------------------------------------------------
// Upload limit
// ---------------------------------------------------------------------------------------------

async function probeUpload(
  ctx: NetContext,
  endpoint: Endpoint,
  hostHeader: string,
  role: EndpointRole,
  nonce: string,
  waitMs: number,
  ua: string,
  observe: (r: RawResult) => void,
  extraHeaders: () => Record<string, string>,
): Promise<UploadEvidence> {
  const federationOnly = role === 'federation';
  const method = federationOnly ? 'PUT' : 'POST';
  const target = federationOnly ? `/_matrix/federation/v1/send/fc${nonce}` : `/_matrix/media/v3/upload?filename=fedcheck-probe-${nonce}.bin`;
  const threshold = federationOnly ? FEDERATION_BODY_THRESHOLD : CLIENT_UPLOAD_THRESHOLD;
  const ev: UploadEvidence = {
    method,
    target,
    technique: 'expect-100-continue',
    thresholdBytes: threshold,
    thresholdReason: federationOnly
      ? 'a federation transaction carries up to 50 events of at most 64 KiB each plus EDUs (about 4 MiB)'
      : "a homeserver's usual upload limit (Synapse's default max_upload_size is 50 MiB)",
    attempts: [],
    largestAccepted: null,
    smallestRefused: null,
    refusedByHomeserver: false,
    bodyBytesSent: 0,
  };
  const attempt = async (size: number): Promise<UploadAttempt> => {
    const head = requestHead(method, target, hostHeader, {
      'User-Agent': ua,
      ...extraHeaders(),
      'Content-Type': federationOnly ? 'application/json' : 'application/octet-stream',
      'Content-Length': String(size),
      Expect: '100-continue',
    });
    const r = await rawRequest(ctx, endpoint, head, { waitMs, stopOnInterim: true, maxBody: 4096 });
    observe(r);
    const resp = r.status !== null && r.status >= 200 ? summariseResponse(r.status, r.headers, r.body) : null;
    const outcome: UploadAttempt['outcome'] = r.error ? 'error' : r.silent ? 'no-response' : r.status === 100 ? 'continue' : r.status === 413 ? 'refused' : 'final';
    const a: UploadAttempt = { declared: size, outcome, status: r.status, errcode: resp?.errcode ?? null, server: resp?.server ?? null, ms: r.ms };
    if (r.error) a.error = r.error.message;
    return a;
  };
  /**
   * One round: the sizes declared at once, one connection each (each attempt is a single request
   * head, answered on its own), recorded in size order. True when one of them failed.
   */
  const round = async (sizes: number[]): Promise<boolean> => {
    const uniq = [...new Set(sizes)].sort((x, y) => x - y);
    const got = await Promise.all(uniq.map(attempt));
    for (const a of got) {
      ev.attempts.push(a);
      if (a.outcome === 'refused' && a.errcode) ev.refusedByHomeserver = true;
      if (a.outcome === 'refused') ev.smallestRefused = ev.smallestRefused === null ? a.declared : Math.min(ev.smallestRefused, a.declared);
      else if (a.outcome !== 'error') ev.largestAccepted = Math.max(ev.largestAccepted ?? 0, a.declared);
    }
    return got.some((a) => a.outcome === 'error');
  };
  const MAX_ATTEMPTS = 40;
  const budgetOk = (n: number) => remaining(ctx) > waitMs + 200 && ev.attempts.length + n <= MAX_ATTEMPTS;

  // 1. The threshold alone (usually the only round: the size passes).
  if ((await round([threshold])) || ev.smallestRefused === null) return ev;
  // 2. Refused at the threshold: every common limit below it (1 MiB is nginx's default) and
  //    1 KiB, at once — the declared sizes a sequential search would have tried one by one.
  const candidates = [...COMMON_LIMITS.filter((c) => c < threshold), 1024];
  if (!budgetOk(candidates.length) || (await round(candidates))) return ev;
  let low = ev.largestAccepted ?? 0;
  if (low === 0) return ev; // even 1 KiB is refused
  // 3. Exactly that limit (low + 1 refused)? With it, points that narrow the range below the
  //    smallest refused size, then again until it is within max(64 KiB, 1/32 of the limit).
  let extra = [low + 1];
  for (;;) {
    const high = ev.smallestRefused ?? threshold;
    const lo = Math.max(low, ...extra);
    const gap = high - lo;
    const need = gap > Math.max(64 * 1024, lo / 32);
    const points: number[] = [...extra];
    if (need) for (let i = 1; i <= 7; i++) points.push(lo + Math.floor((gap * i) / 8));
    const todo = points.filter((x) => x > low && x < high);
    if (todo.length === 0 || !budgetOk(todo.length)) return ev;
    if (await round(todo)) return ev;
    if (ev.smallestRefused === low + 1) return ev; // exactly `low`
    low = ev.largestAccepted ?? low;
    extra = [];
    const h = ev.smallestRefused ?? threshold;
    if (h - low <= Math.max(64 * 1024, low / 32)) return ev;
  }
}

// ---------------------------------------------------------------------------------------------
// Gatherer: which endpoints to probe
// ---------------------------------------------------------------------------------------------

interface Planned {
  input: ProxyProbeInput;
  key: string;
}

/**
 * Plan the endpoints: every federation target address (SNI and Host of the resolution) and the
 * client base URL's addresses. An address:port reached with the same Host for both is probed once,
 * as `both`.
 */
export async function planEndpoints(
  ctx: NetContext,
  resolution: { hostHeader: string; tlsServerName: string | null; targets: Array<{ host: string; port: number; addresses: string[] }> } | null,
  clientBaseUrl: string | null,
): Promise<{ planned: ProxyProbeInput[]; notes: string[] }> {
  const notes: string[] = [];
  const plan: Planned[] = [];
  if (resolution) {
    for (const t of resolution.targets) {
      for (const a of t.addresses) {
        const mapped = ctx.connectMap.byAddress(a, t.port);
        const endpoint: Endpoint = {
          scheme: 'https',
          address: mapped && net.isIP(mapped.host) ? mapped.host : a,
          port: mapped ? mapped.port : t.port,
          servername: resolution.tlsServerName,
        };
        const key = `${endpoint.address}|${endpoint.port}|${resolution.hostHeader.toLowerCase().replace(/:443$/, '')}`;
        if (plan.some((p) => p.key === key)) continue;
        plan.push({
          key,
          input: {
            endpoint,
            hostHeader: resolution.hostHeader,
            role: 'federation',
            label: `federation endpoint ${t.host}:${t.port}`,
            target: `${hostForUrl(a)}:${t.port}`,
          },
        });
      }
    }
  } else notes.push('federation endpoints not probed: the server name could not be resolved');
  if (clientBaseUrl) {
    let u: URL | null = null;
    try {
      u = new URL(clientBaseUrl);
    } catch {
      notes.push(`client base URL ${clientBaseUrl} is not a URL: not probed`);
    }
    if (u && (u.protocol === 'https:' || u.protocol === 'http:')) {
      const scheme = u.protocol === 'https:' ? 'https' : 'http';
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const port = u.port ? +u.port : scheme === 'https' ? 443 : 80;
      const { endpoints, error } = await routeFor(ctx, host, port);
      if (endpoints.length === 0) notes.push(`client base URL ${clientBaseUrl}: ${error?.message ?? 'no address'}`);
      for (const e of endpoints) {
        const endpoint: Endpoint = { scheme, address: e.address, port: e.port, servername: scheme === 'https' && !net.isIP(host) ? host : null };
        const hostHeader = u.host;
        const key = `${endpoint.address}|${endpoint.port}|${hostHeader.toLowerCase().replace(/:443$/, '')}`;
        const same = plan.find((p) => p.key === key);
        if (same) {
          same.input.role = 'both';
          same.input.label = `federation endpoint and client base URL ${clientBaseUrl}`;
          same.input.baseUrl = clientBaseUrl;
          continue;
        }
        plan.push({ key, input: { endpoint, hostHeader, role: 'client', label: `client base URL ${clientBaseUrl}`, target: `${hostForUrl(e.logicalAddress)}:${port}`, baseUrl: clientBaseUrl } });
      }
    } else if (u) notes.push(`client base URL ${clientBaseUrl} is not http(s): not probed`);
  }
  return { planned: plan.map((p) => p.input), notes };
}

/** The client base URL from `/.well-known/matrix/client` (null when absent or unusable). */
export async function fetchClientBaseUrl(ctx: NetContext, serverHost: string): Promise<{ baseUrl: string | null; note: string | null }> {
  const url = new URL(`https://${hostForUrl(serverHost)}/.well-known/matrix/client`);
  const ex = await fetchUrl(ctx, url, { maxBodyBytes: 50 * 1024 });
  if (!ex.response) return { baseUrl: null, note: `client base URL unknown: ${url.href}: ${ex.error?.message ?? 'no response'}` };
  if (ex.response.status !== 200) return { baseUrl: null, note: `client base URL unknown: ${url.href} answered HTTP ${ex.response.status}` };
  try {
    const j = JSON.parse(ex.response.body) as { 'm.homeserver'?: { base_url?: unknown } };
    const b = j['m.homeserver']?.base_url;
    if (typeof b === 'string' && b) return { baseUrl: b.replace(/\/+$/, ''), note: null };
  } catch {
    /* fallthrough */
  }
  return { baseUrl: null, note: `client base URL unknown: ${url.href} has no m.homeserver.base_url` };
}

/** Gather proxy evidence for all endpoints of a resolved server. */
export async function gatherProxy(
  ctx: NetContext,
  resolution: Parameters<typeof planEndpoints>[1],
  serverHost: string,
  clientBaseUrl?: string | null,
  speculative = true,
): Promise<ProxyEvidence> {
  const notes: string[] = [];
  let base = clientBaseUrl;
  if (base === undefined) {
    const r = await fetchClientBaseUrl(ctx, serverHost);
    base = r.baseUrl;
    if (r.note) notes.push(r.note);
  }
  const { planned, notes: n2 } = await planEndpoints(ctx, resolution, base ?? null);
  notes.push(...n2);
  const endpoints = await mapLimit(planned, 3, (p) => probeProxy(ctx, { ...p, speculative }));
  return { endpoints, notes };
}

/** Registry entry for probes/gatherers.ts: stores `ProxyEvidence` under `extra.proxy`. */
export const proxyGatherer: Gatherer = {
  name: 'proxy',
  when: 'resolved',
  // The client gatherer (started with discovery) already fetches the client well-known: reuse
  // its base_url instead of asking again.
  run: async (g: GatherContext) => {
    const known = clientBaseUrlOf(g.net);
    return gatherProxy(g.net, g.discovery?.resolution ?? null, g.parsed.host, known ? await known : undefined, g.options.speculative !== false);
  },
};
