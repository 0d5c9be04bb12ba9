/**
 * Gather: all network I/O for one server name, into a ServerEvidence bundle. Nothing here judges.
 * Every step is bounded by the server's deadline; a hard guard returns what was gathered if
 * anything overruns it.
 */
import type { ServerEvidence } from '../core/evidence.js';
import { isServerNameError, parseServerName, type ParsedServerName } from '../core/server-name.js';
import type { HttpExchange } from '../core/types.js';
import { DnsClient } from '../net/dns.js';
import { ConnectMap, parseConnectTo, parseResolve } from '../net/connect-map.js';
import { buildTrust, type Trust } from '../net/trust.js';
import { ConnectionShare, fetchUrl, type NetContext } from '../net/http.js';
import { discover } from '../probes/resolve.js';
import { probeAddresses } from '../probes/address.js';
import { gatherers, type GatherContext } from '../probes/gatherers.js';
import { STEP_TIMEOUT_MS, type RunOptions } from './options.js';
import { VERSION } from '../version.js';

export interface Prepared {
  connectMap: ConnectMap;
  trust: Trust;
}

/** Validate the network options once per run (throws OptionError with one clear line). */
export function prepare(opts: RunOptions): Prepared {
  const connectMap = new ConnectMap(opts.resolve.map(parseResolve), opts.connectTo.map(parseConnectTo));
  const trust = buildTrust(opts.cacert, opts.extraCaPems ?? []);
  return { connectMap, trust };
}

export function makeNetContext(opts: RunOptions, prep: Prepared, deadline: number, label: string): NetContext {
  const trace = opts.trace ? (e: Parameters<NonNullable<RunOptions['trace']>>[1]) => opts.trace!(label, e) : undefined;
  const dns = new DnsClient({
    servers: opts.resolvers,
    // c-ares doubles the wait for its second try: t + 2t. A resolver that drops a question
    // (SRV behind a broken middlebox) must fail well inside the run — about 43 % of it, or
    // 7.5 s — or the addresses found meanwhile are left no time and are reported as dead.
    timeoutMs: Math.max(100, Math.floor(Math.min(2500, opts.timeoutMs / 7))),
    tries: 2,
    family: opts.family,
    deadline,
    ...(trace
      ? { onLookup: (l) => trace({ kind: 'dns', ms: l.ms, message: `${l.type} ${l.name} → ${l.outcome === 'ok' ? (l.addresses ?? l.srv?.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`) ?? []).join(', ') : l.outcome}${l.ttl !== undefined ? ` (TTL ${l.ttl})` : ''}` }) }
      : {}),
  });
  return {
    dns,
    connectMap: prep.connectMap,
    trust: prep.trust,
    deadline,
    stepTimeoutMs: Math.min(STEP_TIMEOUT_MS, opts.timeoutMs),
    family: opts.family,
    userAgent: `fedcheck/${VERSION}`,
    share: new ConnectionShare(),
    ...(trace ? { trace } : {}),
  };
}

function optionsEvidence(opts: RunOptions): ServerEvidence['options'] {
  return {
    resolvers: opts.resolvers,
    resolve: opts.resolve,
    connectTo: opts.connectTo,
    cacert: opts.cacert,
    family: opts.family,
    timeoutMs: opts.timeoutMs,
    backend: opts.backend,
  };
}

export async function gatherServer(input: string, opts: RunOptions, prep: Prepared): Promise<ServerEvidence> {
  const started = Date.now();
  // Probes stop a little before the deadline so their timeouts are recorded as evidence and the
  // report is rendered within --timeout; the guard below is the backstop.
  const hardDeadline = started + opts.timeoutMs - 40;
  const deadline = hardDeadline - Math.min(250, Math.floor(opts.timeoutMs / 10));
  const parsed = parseServerName(input);
  const ev: ServerEvidence = {
    evidenceVersion: 1,
    input,
    collectedAt: started,
    durationMs: 0,
    options: optionsEvidence(opts),
    parsed,
    discovery: null,
    addresses: [],
    backendHealth: null,
    deadlineHit: false,
    extra: {},
  };
  if (isServerNameError(parsed)) return ev;
  const net = makeNetContext(opts, prep, deadline, parsed.serverName);
  const work = gatherInto(ev, net, parsed, opts);
  let guard: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (guard = setTimeout(() => r('timeout'), Math.max(0, hardDeadline - Date.now()))));
  const which = await Promise.race([work.then(() => 'done' as const), timedOut]);
  clearTimeout(guard);
  if (which === 'timeout') {
    ev.deadlineHit = true;
    net.dns.cancel();
  }
  ev.durationMs = Date.now() - started;
  return ev;
}

async function gatherInto(ev: ServerEvidence, net: NetContext, parsed: ParsedServerName, opts: RunOptions): Promise<void> {
  const g: GatherContext = { net, parsed, options: opts };
  const early = gatherers.filter((x) => x.when === 'start').map((x) => x.run(g).then((v) => (ev.extra[x.name] = v)));
  const backendP: Promise<HttpExchange | null> = opts.backend ? fetchUrl(net, new URL('/health', opts.backend), { maxBodyBytes: 4096 }) : Promise.resolve(null);
  const discovery = await discover(net, parsed);
  ev.discovery = discovery;
  const later: Array<Promise<unknown>> = [];
  if (discovery.resolution) {
    const gr: GatherContext = { ...g, discovery };
    later.push(probeAddresses(net, discovery.resolution).then((a) => (ev.addresses = a)));
    later.push(...gatherers.filter((x) => x.when === 'resolved').map((x) => x.run(gr).then((v) => (ev.extra[x.name] = v))));
  }
  later.push(backendP.then((b) => (ev.backendHealth = b)));
  await Promise.all([...early, ...later]);
}
