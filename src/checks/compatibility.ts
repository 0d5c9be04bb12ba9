/**
 * `compatibility`: where Synapse, Dendrite (gomatrixserverlib), conduwuit/continuwuity and Conduit
 * would disagree about this server (spec §6), from what was observed. The reference is fedcheck's
 * own resolution, which follows the spec (and, where the spec is silent, continues like
 * gomatrixserverlib so the rest can be checked). One finding per implementation that would behave
 * differently from it; nothing but a single `pass` when they all agree.
 *
 * Cases:
 *  - the server well-known answered a 2xx other than 200 (conduwuit takes any 2xx, Conduit any
 *    status), with a usable m.server;
 *  - its body is ≥ 12,288 bytes (conduwuit rejects it) / > 50,000 bytes (gomatrixserverlib) /
 *    > 50 KiB (Synapse; Conduit has no cap);
 *  - it took more redirects than conduwuit (4), Go's http.Client (9: it stops at the 10th) or
 *    reqwest's default (10, Conduit) follow;
 *  - an invalid m.server: Synapse and Conduit use it verbatim (and fail), gomatrixserverlib fails
 *    the whole resolution, conduwuit falls back like the spec;
 *  - several SRV records whose first target is dead: conduwuit and Conduit use only the first;
 *  - a Host header that conduwuit/Conduit send differently (`:443` dropped, `:port` added on the
 *    SRV / 8448 paths, `IP:8448`) and that the server treats differently (an exact-match proxy
 *    rule such as HAProxy `hdr(host) -i name` without the `:443` variant, Synapse PR #11128);
 *  - a failed SRV lookup: Synapse and conduwuit stop, gomatrixserverlib and Conduit use port 8448;
 *  - targets in Synapse's default `ip_range_blacklist` (spec §4.1). Decision: loopback
 *    (127.0.0.0/8, ::1) is reported as `info` — the lab runs there, and a real deployment on
 *    loopback is unreachable for every implementation anyway — other private and special ranges
 *    as `warn`, because a default Synapse refuses them while the others connect;
 *  - a bracketed IPv6 literal without port, which conduwuit and Conduit mis-parse (inferred).
 */
import { BlockList, isIP, isIPv6 } from 'node:net';
import type { Finding } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { parseServerWellKnown } from '../core/well-known.js';
import { quote } from '../core/sanitize.js';
import { compatibilityEvidence } from './client-evidence.js';

const ID = 'compatibility' as const;

export type Impl = 'Synapse' | 'Dendrite' | 'conduwuit' | 'Conduit';

/** conduwuit rejects a well-known body of this many bytes or more (spec §6). */
export const CONDUWUIT_WK_MAX_BYTES = 12 * 1024;
/** gomatrixserverlib's cap: 50 KB (spec §6). */
export const GMSL_WK_MAX_BYTES = 50_000;
/** Synapse's WELL_KNOWN_MAX_SIZE, 50 KiB. */
export const SYNAPSE_WK_MAX_BYTES = 50 * 1024;
/** Redirects each follows before giving up. */
export const REDIRECT_LIMITS: Record<Impl, number> = { Synapse: 20, Dendrite: 9, conduwuit: 4, Conduit: 10 };

/** Synapse's default ip_range_blacklist (spec §4.1), plus 0.0.0.0 and :: which it always refuses. */
export const SYNAPSE_BLOCKLIST: Array<[string, number]> = [
  ['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10],
  ['192.0.0.0', 24], ['169.254.0.0', 16], ['192.88.99.0', 24], ['198.18.0.0', 15], ['192.0.2.0', 24],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['0.0.0.0', 32],
  ['::1', 128], ['fe80::', 10], ['fc00::', 7], ['2001:db8::', 32], ['ff00::', 8], ['fec0::', 10], ['::', 128],
];

const blocklist = (() => {
  const b = new BlockList();
  for (const [net, prefix] of SYNAPSE_BLOCKLIST) b.addSubnet(net, prefix, isIPv6(net) ? 'ipv6' : 'ipv4');
  return b;
})();

/** The blocklist range an address falls in, or null. */
export function synapseBlockedRange(address: string): string | null {
  const fam = isIP(address);
  if (!fam) return null;
  const type = fam === 6 ? 'ipv6' : 'ipv4';
  if (!blocklist.check(address, type)) return null;
  for (const [net, prefix] of SYNAPSE_BLOCKLIST) {
    if (isIPv6(net) !== (fam === 6)) continue;
    const one = new BlockList();
    one.addSubnet(net, prefix, type);
    if (one.check(address, type)) return `${net}/${prefix}`;
  }
  return 'a blocked range';
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1';
}

interface Line {
  impl: Impl;
  status: 'warn' | 'info';
  text: string;
  hint?: string;
  aspect: string;
}

/** Where fedcheck's (spec) resolution goes, in words. */
function specRoute(ev: ServerEvidence): string {
  const r = ev.discovery?.resolution;
  const t = r?.targets[0];
  if (!r || !t) return 'nowhere (resolution did not complete)';
  const host = isIPv6(t.host) ? `[${t.host}]` : t.host;
  return `${host}:${t.port}`;
}

function wellKnownLines(ev: ServerEvidence): Line[] {
  const wk = ev.discovery?.wellKnown;
  if (!wk || wk.outcome !== 'response') return [];
  const last = wk.hops[wk.hops.length - 1]?.exchange.response;
  if (!last) return [];
  const out: Line[] = [];
  const v = wk.verdict;
  const route = specRoute(ev);

  // status other than 200 with a usable body
  if (last.status !== 200) {
    const as200 = parseServerWellKnown({ ...last, status: 200 });
    if (as200.valid) {
      const m = as200.mServer.serverName;
      const twoXX = last.status >= 200 && last.status <= 299;
      const others = twoXX ? 'Synapse and Dendrite accept only 200' : 'Synapse, Dendrite and conduwuit ignore a non-2xx answer';
      const hint = `Answer /.well-known/matrix/server with exactly 200 if you mean to delegate to ${m}, or 404 if you do not.`;
      if (twoXX) {
        out.push({ impl: 'conduwuit', status: 'warn', aspect: 'wk-status', text: `accepts the HTTP ${last.status} answer to /.well-known/matrix/server (any 2xx) and delegates to ${m}; ${others} and go to ${route}`, hint });
      }
      out.push({ impl: 'Conduit', status: 'warn', aspect: 'wk-status', text: `parses the body of the HTTP ${last.status} answer to /.well-known/matrix/server whatever the status and delegates to ${m}; ${others} and go to ${route}`, hint });
    }
    return out;
  }

  // body size
  const bytes = typeof last.bodyBytes === 'number' ? last.bodyBytes : Buffer.byteLength(last.body ?? '', 'utf8');
  const sizeHint = 'Keep /.well-known/matrix/server small: {"m.server": "matrix.example.org:443"} is all it needs (conduwuit rejects 12 KiB and more).';
  if (v?.valid) {
    const kib = (bytes / 1024).toFixed(1);
    if (bytes >= CONDUWUIT_WK_MAX_BYTES) {
      out.push({ impl: 'conduwuit', status: 'warn', aspect: 'wk-size', text: `rejects the ${bytes}-byte /.well-known/matrix/server (${kib} KiB; its limit is under 12,288 bytes), ignores the delegation and falls back to SRV / port 8448; Synapse and Dendrite delegate to ${v.mServer.serverName}`, hint: sizeHint });
    }
    if (bytes > GMSL_WK_MAX_BYTES) {
      out.push({ impl: 'Dendrite', status: 'warn', aspect: 'wk-size', text: `rejects the ${bytes}-byte /.well-known/matrix/server (gomatrixserverlib's limit is 50,000 bytes) and falls back to SRV / port 8448; Synapse delegates to ${v.mServer.serverName}`, hint: sizeHint });
    }
  } else if (v && !v.valid && v.problem === 'too-large') {
    out.push({ impl: 'Conduit', status: 'warn', aspect: 'wk-size', text: `has no size limit: it reads the whole /.well-known/matrix/server (over 50 KiB) and uses its m.server if it has one, while Synapse, Dendrite and conduwuit give up on it and go to ${route}`, hint: sizeHint });
  }

  // redirects
  const n = wk.hops.length - 1;
  if (v?.valid && n > 0) {
    const hint = `Serve /.well-known/matrix/server with fewer redirects (ideally none; at most 4 for conduwuit).`;
    for (const impl of ['conduwuit', 'Dendrite', 'Conduit'] as const) {
      const limit = REDIRECT_LIMITS[impl];
      if (n > limit) {
        const who = impl === 'Dendrite' ? "Go's http.Client stops at the 10th redirect" : impl === 'Conduit' ? "reqwest's default limit is 10" : 'it follows at most 4';
        out.push({ impl, status: 'warn', aspect: 'wk-redirects', text: `gives up on /.well-known/matrix/server after its ${n} redirects (${who}) and falls back to SRV / port 8448; Synapse (up to 20) delegates to ${v.mServer.serverName}`, hint });
      }
    }
  }

  // invalid m.server
  if (v && !v.valid && v.problem === 'invalid-m-server' && typeof v.mServerRaw === 'string' && v.mServerRaw !== '') {
    const raw = quote(v.mServerRaw, 80);
    const hint = v.delegated?.suggestion ? `Fix m.server: use ${quote(v.delegated.suggestion)}.` : 'Fix m.server: a hostname with an optional port, e.g. "matrix.example.org:443".';
    if (v.synapse === 'uses-verbatim') {
      out.push({ impl: 'Synapse', status: 'warn', aspect: 'm-server', text: `does not validate m.server: it uses ${raw} verbatim and its requests fail instead of falling back to ${route} as the spec says (inferred from its code)`, hint });
    }
    out.push({ impl: 'Dendrite', status: 'warn', aspect: 'm-server', text: `validates m.server ${raw}, finds it invalid and fails the whole resolution (no fallback to ${route})`, hint });
    out.push({ impl: 'Conduit', status: 'warn', aspect: 'm-server', text: `does not validate m.server: it uses ${raw} verbatim and its requests fail instead of falling back to ${route}`, hint });
  }
  return out;
}

/** Does any connection to this target (host, port) complete? */
function targetAnswers(ev: ServerEvidence, host: string, port: number): boolean | null {
  const addrs = ev.addresses.filter((a) => a.host === host && a.port === port);
  if (addrs.length === 0) return ev.discovery?.targets.find((t) => t.host === host && t.port === port)?.addresses.length === 0 ? false : null;
  return addrs.some((a) => a.tls !== null || a.version?.response != null);
}

function srvLines(ev: ServerEvidence): Line[] {
  const d = ev.discovery;
  const out: Line[] = [];
  if (!d?.srv) return out;
  if (d.srv.failed) {
    const failed = d.srv.fed.error ? d.srv.fed : d.srv.legacy ?? d.srv.fed;
    const what = `${failed.name} (${failed.outcome === 'timeout' ? 'timed out' : failed.outcome === 'error' ? failed.error?.code ?? 'error' : failed.outcome.toUpperCase()})`;
    const route = specRoute(ev);
    const hint = 'Fix the authoritative DNS servers so that the SRV lookup answers (a record or NXDOMAIN), not an error.';
    out.push({ impl: 'Synapse', status: 'warn', aspect: 'srv-failure', text: `a failed SRV lookup of ${what} fails its request (unless a cached answer exists); Dendrite and Conduit treat it as "no SRV" and use ${route}`, hint });
    out.push({ impl: 'conduwuit', status: 'warn', aspect: 'srv-failure', text: `a failed SRV lookup of ${what} fails its request; Dendrite and Conduit treat it as "no SRV" and use ${route}`, hint });
  }
  const targets = d.targets.filter((t) => t.fromSrv);
  if (targets.length >= 2) {
    const first = targets[0]!;
    const firstOk = targetAnswers(ev, first.host, first.port);
    const other = targets.slice(1).find((t) => targetAnswers(ev, t.host, t.port) === true);
    if (firstOk === false && other) {
      const hint = `Make ${first.host}:${first.port} answer, or remove its SRV record: conduwuit and Conduit never try the others.`;
      for (const impl of ['conduwuit', 'Conduit'] as const) {
        out.push({ impl, status: 'warn', aspect: 'srv-first-dead', text: `uses only the first SRV record, ${first.host}:${first.port}, which does not answer; Synapse and Dendrite go on to ${other.host}:${other.port}`, hint });
      }
    }
  }
  return out;
}

function hostHeaderLines(ev: ServerEvidence): Line[] {
  const c = compatibilityEvidence(ev);
  if (!c || !c.conduwuitHost) return [];
  for (const p of c.probes) {
    const spec = ev.addresses.find((a) => a.target === p.target)?.version;
    const alt = p.exchange;
    if (!spec?.response || !alt.response) continue;
    const specOk = spec.response.status === 200;
    const altOk = alt.response.status === 200;
    if (specOk === altOk) continue;
    const portDropped = c.specHost.endsWith(':443') && !c.conduwuitHost.endsWith(':443');
    const rule = portDropped
      ? ' — an exact-match Host rule without the ":443" variant (e.g. HAProxy hdr(host) -i, Synapse PR #11128)'
      : ' — an exact-match Host rule that does not accept the port';
    const hint = `Make the reverse proxy accept both "Host: ${c.specHost}" and "Host: ${c.conduwuitHost}" (match on the host name, ignoring the port).`;
    const how = portDropped ? 'drops the default :443 from' : 'adds the port to';
    const text = altOk
      ? `${how} the Host header — "Host: ${c.conduwuitHost}" — which ${p.target} accepts (HTTP ${alt.response.status}), while Synapse and Dendrite send "Host: ${c.specHost}" as the spec says and get HTTP ${spec.response.status}${rule}`
      : `${how} the Host header — "Host: ${c.conduwuitHost}" — which ${p.target} refuses (HTTP ${alt.response.status}), while Synapse and Dendrite send "Host: ${c.specHost}" and get HTTP ${spec.response.status}`;
    return (['conduwuit', 'Conduit'] as const).map((impl) => ({ impl, status: 'warn' as const, aspect: 'host-header', text, hint }));
  }
  return [];
}

function addressLines(ev: ServerEvidence): Line[] {
  const r = ev.discovery?.resolution;
  if (!r) return [];
  const loop: string[] = [];
  const priv: Array<[string, string]> = [];
  for (const t of r.targets) {
    for (const a of t.addresses) {
      const range = synapseBlockedRange(a);
      if (!range) continue;
      if (isLoopbackAddress(a)) {
        if (!loop.includes(a)) loop.push(a);
      } else if (!priv.some(([x]) => x === a)) priv.push([a, range]);
    }
  }
  const out: Line[] = [];
  if (priv.length) {
    out.push({
      impl: 'Synapse', status: 'warn', aspect: 'blocklist',
      text: `its default ip_range_blacklist refuses ${priv.map(([a, range]) => `${a} (${range})`).join(', ')}, so a default Synapse cannot reach this server; Dendrite, conduwuit and Conduit connect (which only works from the same private network)`,
      hint: 'Publish public addresses for federation. A private address only works for peers on the same network, and Synapse peers must also remove the range from ip_range_blacklist.',
    });
  }
  if (loop.length) {
    out.push({ impl: 'Synapse', status: 'info', aspect: 'blocklist', text: `its default ip_range_blacklist refuses ${loop.join(', ')} (loopback: 127.0.0.0/8, ::1) — fine for a lab, fatal in production` });
  }
  return out;
}

function ipv6Lines(ev: ServerEvidence): Line[] {
  const p = ev.discovery?.parsed;
  const v = ev.discovery?.wellKnown?.verdict;
  let name: string | null = null;
  let where = '';
  if (p && p.hostKind === 'ipv6' && p.port === null) {
    name = p.serverName;
    where = 'the server name';
  } else if (v?.valid && v.mServer.hostKind === 'ipv6' && v.mServer.port === null) {
    name = v.mServer.serverName;
    where = 'm.server';
  }
  if (!name) return [];
  const text = `does not recognise ${where} ${name} (a bracketed IPv6 literal without a port) as an IP address and mis-parses it as host:port (inferred from its Rust URL/socket-address parsing); Synapse and Dendrite use ${specRoute(ev)}`;
  const hint = `Give the port explicitly (${name}:8448)${where === 'm.server' ? ' in m.server' : ''}, or use a host name.`;
  return (['conduwuit', 'Conduit'] as const).map((impl) => ({ impl, status: 'warn' as const, aspect: 'ipv6-no-port', text, hint }));
}

const check: Check = {
  id: ID,
  title: 'Where Synapse, Dendrite, conduwuit and Conduit would disagree about this server (spec §6)',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const d = ev.discovery;
    if (!d) return [skip(ID, 'discovery did not run')];
    const lines = [...wellKnownLines(ev), ...srvLines(ev), ...hostHeaderLines(ev), ...ipv6Lines(ev), ...addressLines(ev)];
    const findings: Finding[] = lines.map((l) => ({
      id: ID,
      status: l.status,
      summary: `${l.impl}: ${l.text}`,
      ...(l.hint ? { hint: l.hint } : {}),
      details: { implementation: l.impl, aspect: l.aspect },
    }));
    if (!lines.some((l) => l.status === 'warn')) {
      findings.unshift({ id: ID, status: 'pass', summary: 'Synapse, Dendrite, conduwuit and Conduit agree on how to reach this server (as far as observed)' });
    }
    return findings;
  },
};
export default check;
