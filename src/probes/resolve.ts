/**
 * Server discovery exactly as the spec's "Resolving server names" algorithm (spec §1, §1.1),
 * gathered as evidence, with the independent lookups started as early as the algorithm allows:
 *
 *   t0: GET https://H/.well-known/matrix/server  ‖  SRV _matrix-fed._tcp.H  ‖  SRV _matrix._tcp.H
 *       (the A/AAAA of H is needed by the well-known connection anyway)
 *       as soon as an SRV answer arrives: A/AAAA of its targets (speculative)
 *   after the well-known: if delegated to D without a port: SRV of D ‖ A/AAAA of D, then targets.
 *
 * Speculative answers that the algorithm ends up not using are kept as evidence but do not
 * decide anything: the decision follows the spec's order strictly.
 */
import * as net from 'node:net';
import type { DnsLookup, Resolution, ResolutionMethod, ResolutionTarget, SrvRecord } from '../core/types.js';
import type { ParsedServerName } from '../core/server-name.js';
import { formatHostPort } from '../core/server-name.js';
import { parseServerWellKnown, type WellKnownVerdict } from '../core/well-known.js';
import type { AddressLookup } from '../net/dns.js';
import { lookupFailed } from '../net/dns.js';
import type { NetContext } from '../net/http.js';
import { fetchServerWellKnown, type WellKnownFetch } from './well-known.js';

export interface SrvEvidence {
  /** the hostname whose SRV records were consulted (H, or the delegated D) */
  host: string;
  fed: DnsLookup;
  /** the deprecated _matrix._tcp lookup; null if never asked */
  legacy: DnsLookup | null;
  /** which one decided: 'fed', 'legacy' or null (no records / lookup failed) */
  used: 'fed' | 'legacy' | null;
  /** records in the order they are tried */
  ordered: SrvRecord[];
  /** a lookup failed (SERVFAIL, timeout…): implementations disagree what to do next (spec §6) */
  failed: boolean;
  /** exactly one record with target "." (RFC 2782: service decidedly not available) */
  unavailable: boolean;
}

export interface TargetEvidence {
  host: string;
  port: number;
  /** where the addresses came from */
  source: 'literal' | 'dns' | 'resolve-option' | 'connect-to';
  lookup: AddressLookup | null;
  /** CNAME check for SRV targets (spec: an SRV target must not be an alias) */
  cname: DnsLookup | null;
  addresses: string[];
  fromSrv: boolean;
  /** --connect-to host mapping that applied, for the report */
  via?: string;
}

export interface DiscoveryEvidence {
  parsed: ParsedServerName;
  /** null when the spec skips it (IP literal, explicit port) */
  wellKnown: (WellKnownFetch & { verdict: WellKnownVerdict | null }) | null;
  /** SRV evidence for the host that the algorithm consulted, if any */
  srv: SrvEvidence | null;
  /** SRV lookups of the server name made speculatively but not used (delegation won) */
  srvUnused: SrvEvidence | null;
  targets: TargetEvidence[];
  resolution: Resolution | null;
  /** why resolution could not complete */
  resolutionError: string | null;
}

const DEFAULT_PORT = 8448;

function srvOrder(records: SrvRecord[]): SrvRecord[] {
  // RFC 2782: ascending priority; within a priority a weighted random choice. We show the most
  // likely order (heaviest weight first, zero weights last) so the report is reproducible.
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.name.localeCompare(b.name) || a.port - b.port);
}

/**
 * At most this many SRV targets (in the order they are tried) are looked up and probed. A hostile
 * or broken zone can answer with thousands of records (a 64 KiB TCP answer holds ~2,400):
 * homeservers try them one at a time, but probing all at once would make fedcheck open thousands
 * of connections. The `srv` check says when records were left out.
 */
export const MAX_SRV_TARGETS = 10;

/**
 * At most this many addresses of one target (A then AAAA, from DNS) are used, for the same
 * reason: a hostile answer can carry thousands. The `dns` check says when some were left out.
 */
export const MAX_ADDRESSES_PER_TARGET = 10;

/** The SRV records that become connect targets: tried order, "." dropped, capped. */
export function srvTargets(records: SrvRecord[]): SrvRecord[] {
  return srvOrder(records).filter((r) => r.name !== '.').slice(0, MAX_SRV_TARGETS);
}

/** Start both SRV lookups of `host` at once; `_matrix` is only *used* if `_matrix-fed` found nothing. */
function startSrv(ctx: NetContext, host: string): Promise<SrvEvidence> {
  const fedP = ctx.dns.lookup(`_matrix-fed._tcp.${host}`, 'SRV');
  const legacyP = ctx.dns.lookup(`_matrix._tcp.${host}`, 'SRV');
  // Speculatively resolve targets as soon as the records are known.
  const prefetch = (p: Promise<DnsLookup>) =>
    p.then((l) => {
      for (const r of srvTargets(l.srv ?? [])) void targetLookup(ctx, r.name, r.port, true);
      return l;
    });
  return Promise.all([prefetch(fedP), prefetch(legacyP)]).then(([fed, legacy]) => {
    const fedFound = fed.outcome === 'ok' && (fed.srv?.length ?? 0) > 0;
    const legacyFound = legacy.outcome === 'ok' && (legacy.srv?.length ?? 0) > 0;
    const used: SrvEvidence['used'] = fedFound ? 'fed' : lookupFailed(fed) ? null : legacyFound ? 'legacy' : null;
    const records = used === 'fed' ? fed.srv! : used === 'legacy' ? legacy.srv! : [];
    const unavailable = records.length === 1 && records[0]!.name === '.';
    return {
      host,
      fed,
      legacy,
      used,
      ordered: srvOrder(records),
      failed: lookupFailed(fed) || (!fedFound && lookupFailed(legacy)),
      unavailable,
    };
  });
}

const targetCache = new WeakMap<NetContext, Map<string, Promise<TargetEvidence>>>();

/** Addresses for one connect target (host:port), honouring --resolve and --connect-to. Memoised. */
export function targetLookup(ctx: NetContext, host: string, port: number, fromSrv: boolean): Promise<TargetEvidence> {
  let m = targetCache.get(ctx);
  if (!m) targetCache.set(ctx, (m = new Map()));
  const key = `${host.toLowerCase()}:${port}:${fromSrv}`;
  let p = m.get(key);
  if (!p) {
    p = (async (): Promise<TargetEvidence> => {
      if (net.isIP(host)) {
        return { host, port, source: 'literal', lookup: null, cname: null, addresses: [host], fromSrv };
      }
      const pinned = ctx.connectMap.pinned(host, port);
      if (pinned) {
        return { host, port, source: 'resolve-option', lookup: null, cname: null, addresses: filterFamily(ctx, pinned), fromSrv };
      }
      const route = ctx.connectMap.byHost(host, port);
      const name = route ? route.host : host;
      const [lookup, cname] = await Promise.all([
        net.isIP(name) ? Promise.resolve(null) : ctx.dns.addresses(name),
        fromSrv && !route ? ctx.dns.lookup(host, 'CNAME') : Promise.resolve(null),
      ]);
      const addresses = lookup ? lookup.addresses : [name];
      const t: TargetEvidence = { host, port, source: route ? 'connect-to' : 'dns', lookup, cname, addresses: filterFamily(ctx, addresses).slice(0, MAX_ADDRESSES_PER_TARGET), fromSrv };
      if (route?.via) t.via = route.via;
      return t;
    })();
    m.set(key, p);
  }
  return p;
}

function filterFamily(ctx: NetContext, addrs: string[]): string[] {
  return addrs.filter((a) => ctx.family === 0 || net.isIP(a) === ctx.family);
}

function toTarget(t: TargetEvidence): ResolutionTarget {
  return { host: t.host, port: t.port, addresses: t.addresses };
}

export async function discover(ctx: NetContext, parsed: ParsedServerName): Promise<DiscoveryEvidence> {
  const ev: DiscoveryEvidence = { parsed, wellKnown: null, srv: null, srvUnused: null, targets: [], resolution: null, resolutionError: null };
  const H = parsed.host;

  // Step 1: IP literal.
  if (parsed.hostKind !== 'dns') {
    const port = parsed.port ?? DEFAULT_PORT;
    ev.targets = [await targetLookup(ctx, H, port, false)];
    ev.resolution = {
      method: 'ip-literal',
      delegatedServerName: null,
      hostHeader: parsed.serverName,
      tlsServerName: null,
      certificateName: H,
      targets: ev.targets.map(toTarget),
    };
    return ev;
  }

  // Step 2: hostname with explicit port.
  if (parsed.port !== null) {
    ev.targets = [await targetLookup(ctx, H, parsed.port, false)];
    ev.resolution = {
      method: 'explicit-port',
      delegatedServerName: null,
      hostHeader: parsed.serverName,
      tlsServerName: H,
      certificateName: H,
      targets: ev.targets.map(toTarget),
    };
    return ev;
  }

  // Step 3: well-known, with steps 4–6 started speculatively alongside.
  const ownSrvP = startSrv(ctx, H);
  const ownDefaultP = targetLookup(ctx, H, DEFAULT_PORT, false);
  // At most 40 % of the remaining time for the well-known, so that a silent web server at the
  // apex still leaves time to check (and report on) the steps that follow.
  const wk = await fetchServerWellKnown(ctx, H, Math.max(500, Math.floor((ctx.deadline - Date.now()) * 0.4)));
  const last = wk.hops[wk.hops.length - 1]?.exchange;
  const verdict = wk.outcome === 'response' && last?.response ? parseServerWellKnown(last.response) : null;
  ev.wellKnown = { ...wk, verdict };

  if (verdict && verdict.valid) {
    const d = verdict.mServer;
    const D = d.host;
    const delegated = d.serverName;
    void ownSrvP.then((s) => (ev.srvUnused = s));
    if (d.hostKind !== 'dns') {
      // 3.1 delegated IP literal.
      ev.targets = [await targetLookup(ctx, D, d.port ?? DEFAULT_PORT, false)];
      ev.resolution = mk('well-known-ip-literal', delegated, delegated, null, D, ev.targets);
    } else if (d.port !== null) {
      // 3.2 delegated hostname with port: Host always carries the port, even 443.
      ev.targets = [await targetLookup(ctx, D, d.port, false)];
      ev.resolution = mk('well-known-explicit-port', delegated, formatHostPort(D, 'dns', d.port), D, D, ev.targets);
    } else {
      // 3.3–3.5 delegated hostname without port: SRV of D, then 8448.
      const defaultP = targetLookup(ctx, D, DEFAULT_PORT, false);
      const srv = await startSrv(ctx, D);
      ev.srv = srv;
      await decideFromSrv(ctx, ev, srv, defaultP, ['well-known-srv', 'well-known-srv-legacy', 'well-known-default-port'], delegated, D);
    }
    ev.srvUnused = await ownSrvP;
    return ev;
  }

  // Steps 4–6: well-known errored or invalid.
  const srv = await ownSrvP;
  ev.srv = srv;
  await decideFromSrv(ctx, ev, srv, ownDefaultP, ['srv', 'srv-legacy', 'default-port'], null, H);
  return ev;
}

function mk(method: ResolutionMethod, delegated: string | null, hostHeader: string, tlsName: string | null, certName: string, targets: TargetEvidence[]): Resolution {
  return { method, delegatedServerName: delegated, hostHeader, tlsServerName: tlsName, certificateName: certName, targets: targets.map(toTarget) };
}

async function decideFromSrv(
  ctx: NetContext,
  ev: DiscoveryEvidence,
  srv: SrvEvidence,
  defaultP: Promise<TargetEvidence>,
  methods: [ResolutionMethod, ResolutionMethod, ResolutionMethod],
  delegated: string | null,
  host: string,
): Promise<void> {
  if (srv.used) {
    const method = srv.used === 'fed' ? methods[0] : methods[1];
    if (srv.unavailable) {
      ev.targets = [];
      ev.resolution = mk(method, delegated, host, host, host, []);
      ev.resolutionError = `the SRV record for ${host} has target "." — the service is declared unavailable (RFC 2782)`;
      return;
    }
    ev.targets = await Promise.all(srvTargets(srv.ordered).map((r) => targetLookup(ctx, r.name, r.port, true)));
    ev.resolution = mk(method, delegated, host, host, host, ev.targets);
    return;
  }
  // No SRV record (or the lookup failed: we continue like gomatrixserverlib/Conduit so the rest can
  // be checked; the srv check reports that Synapse and conduwuit would stop here).
  ev.targets = [await defaultP];
  ev.resolution = mk(methods[2], delegated, host, host, host, ev.targets);
}
