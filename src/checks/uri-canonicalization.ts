/**
 * `uri-canonicalization`: what the reverse proxy does to request targets.
 *
 * Exact mode (the stand-in backend behind the proxy): every probe target is compared byte for
 * byte with what arrived; each change is named (core/proxy-probes.ts diffTarget) with what it
 * breaks. Federation probes fail on any change (the X-Matrix signature covers the exact target);
 * client probes fail on changes of meaning and warn on cosmetic ones. Edge probes (NUL, invalid
 * escapes, raw '#', raw UTF-8, very long paths — refused or altered by the recommended
 * configurations too) are recorded in details only.
 *
 * Live mode (a real homeserver behind): an encoded '/' in an ID must be routed like a plain ID;
 * what cannot be seen from outside is said plainly, with how to get a certain answer.
 */
import type { Finding, Status } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import {
  diffTarget,
  differenceImpact,
  FEDERATION_SIGNATURE_IMPACT,
  STRUCTURAL,
  type DifferenceCode,
  type TargetDifference,
} from '../core/proxy-probes.js';
import type { LiveExchange, ProxyEndpointEvidence, ProxyEvidence, TargetProbeResult } from '../probes/proxy.js';
import type { Check } from './types.js';
import { detectedProxyOf, endpointName, fixHint, proxyEvidenceOf, standInAdvice, type FixTopic } from './proxy-fixes.js';

const ID = 'uri-canonicalization' as const;

export interface ChangedProbe {
  id: string;
  api: 'federation' | 'client';
  feature: string;
  sent: string;
  received: string;
  differences: TargetDifference[];
}

export interface RefusedProbe {
  id: string;
  api: 'federation' | 'client';
  feature: string;
  sent: string;
  status: number | null;
  server: string | null;
  error: string | null;
}

/** The per-probe verdicts of exact mode, before they are turned into findings. */
export function classifyExact(e: ProxyEndpointEvidence): {
  checked: number;
  changed: ChangedProbe[];
  refused: RefusedProbe[];
  notRouted: string[];
  edge: Array<{ id: string; feature: string; outcome: string; tolerated: string }>;
} {
  const controlOk = new Set<string>();
  for (const r of e.targets) if (r.probe.kind === 'control' && r.echo) controlOk.add(r.probe.route);
  const changed: ChangedProbe[] = [];
  const refused: RefusedProbe[] = [];
  const notRouted = new Set<string>();
  const edge: Array<{ id: string; feature: string; outcome: string; tolerated: string }> = [];
  let checked = 0;
  for (const r of e.targets) {
    const p = r.probe;
    if (p.kind === 'edge') {
      edge.push({ id: p.id, feature: p.feature, outcome: edgeOutcome(r), tolerated: p.tolerated ?? '' });
      continue;
    }
    if (p.kind === 'control') {
      if (r.echo) {
        const d = diffTarget(p.target, r.echo.rawTarget);
        if (d.length) changed.push({ id: p.id, api: p.api, feature: p.feature, sent: p.target, received: r.echo.rawTarget, differences: d });
        checked++;
      } else notRouted.add(p.route);
      continue;
    }
    if (!controlOk.has(p.route)) {
      notRouted.add(p.route);
      continue;
    }
    checked++;
    if (r.echo) {
      const d = diffTarget(p.target, r.echo.rawTarget);
      if (d.length) changed.push({ id: p.id, api: p.api, feature: p.feature, sent: p.target, received: r.echo.rawTarget, differences: d });
    } else {
      refused.push({
        id: p.id,
        api: p.api,
        feature: p.feature,
        sent: p.target,
        status: r.response?.status ?? null,
        server: r.response?.server ?? null,
        error: r.error?.message ?? null,
      });
    }
  }
  return { checked, changed, refused, notRouted: [...notRouted], edge };
}

function edgeOutcome(r: TargetProbeResult): string {
  if (r.echo) {
    const d = diffTarget(r.probe.target, r.echo.rawTarget);
    return d.length ? `arrived altered: ${d.map((x) => x.message).join(', ')}` : 'arrived unchanged';
  }
  if (r.response) return `refused (HTTP ${r.response.status}${r.response.server ? `, ${r.response.server}` : ''})`;
  return `no answer (${r.error?.message ?? 'no response'})`;
}

/** Group difference messages for a summary: decoded escapes listed together. */
export function describeDifferences(diffs: TargetDifference[]): string[] {
  const decoded: string[] = [];
  const hexUp: string[] = [];
  const other: string[] = [];
  for (const d of diffs) {
    const m = /^(%[0-9A-F]{2}) decoded to (.+)$/.exec(d.message);
    const h = /^lowercase hex upper-cased \((.+)\)$/.exec(d.message);
    if (d.code === 'decoded' && m) decoded.push(`${m[1]} → ${m[2]}`);
    else if (d.code === 'hex-uppercased' && h) {
      if (!hexUp.includes(h[1]!)) hexUp.push(h[1]!);
      if (!other.includes('lowercase hex upper-cased')) other.push('lowercase hex upper-cased');
    } else if (!other.includes(d.message)) other.push(d.message);
  }
  const hx = other.indexOf('lowercase hex upper-cased');
  if (hx >= 0) other[hx] = `lowercase hex upper-cased (${hexUp.join(', ')})`;
  const out: string[] = [];
  const slash = other.indexOf('%2F decoded to /');
  if (slash >= 0) out.push(other.splice(slash, 1)[0]!);
  if (decoded.length) out.push(`escapes decoded (${[...new Set(decoded)].join(', ')})`);
  return [...out, ...other];
}

function exactFindings(e: ProxyEndpointEvidence): Finding[] {
  const c = classifyExact(e);
  const name = endpointName(e);
  const detected = detectedProxyOf(e);
  if (c.checked === 0) {
    return [
      {
        id: ID,
        status: 'skip',
        target: e.target,
        summary: `not run: ${name}: the proxy forwards none of the probe routes to the stand-in backend (${c.notRouted.join(', ')})`,
        details: { mode: 'exact', notRouted: c.notRouted, edge: c.edge },
      },
    ];
  }
  const allDiffs = c.changed.flatMap((x) => x.differences);
  const fedChanged = c.changed.filter((x) => x.api === 'federation');
  const structural = c.changed.filter((x) => x.differences.some((d) => STRUCTURAL.has(d.code)));
  const failing = fedChanged.length > 0 || structural.length > 0 || c.refused.length > 0;
  const status: Status = failing ? 'fail' : c.changed.length > 0 ? 'warn' : 'pass';
  const details = {
    mode: 'exact',
    checked: c.checked,
    changed: c.changed,
    refused: c.refused,
    notRouted: c.notRouted,
    edge: c.edge,
    detectedProxy: detected,
  };
  if (status === 'pass') {
    return [
      {
        id: ID,
        status,
        target: e.target,
        summary: `${name}: all ${c.checked} probe request targets reached the stand-in backend byte for byte (encoded $ / : ! # @ + ? % =, UTF-8, lowercase hex, dot segments, doubled slashes, query strings)`,
        details,
      },
    ];
  }
  const parts: string[] = [];
  if (c.changed.length) parts.push(`changes request targets: ${describeDifferences(allDiffs).join('; ')} (${c.changed.length} of ${c.checked} probes)`);
  if (c.refused.length) {
    const byStatus = new Map<string, string[]>();
    for (const r of c.refused) {
      const k = r.status !== null ? `HTTP ${r.status}` : (r.error ?? 'no answer');
      byStatus.set(k, [...(byStatus.get(k) ?? []), r.feature]);
    }
    parts.push(`refuses ${[...byStatus].map(([k, f]) => `requests with ${[...new Set(f)].join(', ')} (${k})`).join('; ')}`);
  }
  const codes = new Set<DifferenceCode>(allDiffs.map((d) => d.code));
  const impacts: string[] = [];
  if (fedChanged.length || c.refused.some((r) => r.api === 'federation')) impacts.push(FEDERATION_SIGNATURE_IMPACT);
  for (const code of codes) if (STRUCTURAL.has(code) || !fedChanged.length) impacts.push(differenceImpact(code));
  const slashInPath = (r: RefusedProbe) => /%2F/i.test(r.sent.split('?')[0]!);
  if (c.refused.some(slashInPath)) impacts.push("IDs containing '/' (room v3 event IDs, state keys, historical user IDs) cannot be requested at all");
  const uniqueImpacts = [...new Set(impacts)];
  const topics: FixTopic[] = [];
  if (c.changed.length || c.refused.some((r) => !slashInPath(r))) topics.push('canonicalization');
  if (c.refused.some(slashInPath)) topics.push('encoded-slash-refused');
  const why = `${uniqueImpacts.join('; ')}. The proxy must pass the request target on exactly as received.`;
  const consequence =
    fedChanged.length || c.refused.some((r) => r.api === 'federation')
      ? ' — federation signature checks fail for such requests (joins, invites, backfill)'
      : structural.length || c.refused.length
        ? ' — such requests reach the wrong resource or none'
        : '';
  return [
    {
      id: ID,
      status,
      target: e.target,
      summary: `${name}: the proxy ${parts.join('; and ')}${consequence}`,
      hint: fixHint(topics, detected, why),
      details: { ...details, impacts: uniqueImpacts },
    },
  ];
}

type LiveClass = { kind: 'error' | 'matrix-error' | 'matrix-ok' | 'not-matrix'; label: string };

function liveClass(x: LiveExchange): LiveClass {
  if (!x.response) return { kind: 'error', label: x.error?.message ?? 'no response' };
  const r = x.response;
  if (r.json && r.errcode) return { kind: 'matrix-error', label: `${r.status} ${r.errcode}` };
  if (r.json) return { kind: 'matrix-ok', label: `${r.status} (JSON)` };
  return { kind: 'not-matrix', label: `${r.status} (not a Matrix response${r.server ? `, Server: ${r.server}` : ''})` };
}

const UNRECOGNIZED = /M_UNRECOGNIZED/;

function liveFindings(e: ProxyEndpointEvidence, serverName: string): Finding[] {
  const name = endpointName(e);
  const detected = detectedProxyOf(e);
  const pairs = e.live ?? [];
  const observations: Array<{ id: string; what: string; control: string; test: string; verdict: string }> = [];
  let decoded = 0;
  let refusedByProxy = 0;
  let conclusive = 0;
  let other = 0;
  const dotNotes: string[] = [];
  for (const p of pairs) {
    const c = liveClass(p.control);
    const t = liveClass(p.test);
    let verdict: string;
    if (p.feature === 'dot-segment') {
      if (c.kind === 'matrix-ok' && t.kind === 'matrix-ok' && p.test.response?.status === p.control.response?.status) {
        verdict = 'resolved before the homeserver routed it (by the proxy, or by the homeserver itself)';
        dotNotes.push(`a dot segment (${p.test.target}) is resolved before routing — by the proxy or by the homeserver itself; only the stand-in can tell which`);
      } else if (t.kind === 'matrix-error' && UNRECOGNIZED.test(t.label)) verdict = 'passed to the homeserver unresolved (as it should be)';
      else verdict = `inconclusive (${t.label})`;
      observations.push({ id: p.id, what: p.what, control: c.label, test: t.label, verdict });
      continue;
    }
    const controlRouted = c.kind === 'matrix-error' ? !UNRECOGNIZED.test(c.label) : c.kind === 'matrix-ok';
    if (!controlRouted) {
      verdict = `inconclusive: the plain request was not answered by a homeserver route (${c.label})`;
    } else if (t.label === c.label) {
      verdict = 'routed like the plain ID';
      conclusive++;
    } else if (t.kind === 'matrix-error' && UNRECOGNIZED.test(t.label)) {
      verdict = "routed elsewhere: the encoded '/' reached the homeserver as a real '/'";
      decoded++;
      conclusive++;
    } else if (t.kind === 'not-matrix') {
      verdict = 'refused before reaching the homeserver';
      refusedByProxy++;
      conclusive++;
    } else {
      verdict = 'answered differently';
      other++;
      conclusive++;
    }
    observations.push({ id: p.id, what: p.what, control: c.label, test: t.label, verdict });
  }
  const notDetermined =
    'not determined from outside: whether other escapes (%24 %3A %40 %21 %23 %3F %25 %3D), UTF-8, hex case, dot segments, doubled slashes and query strings arrive byte for byte' +
    (e.role === 'client' ? '' : ' (federation signatures cover all of them)');
  const details = { mode: 'live', observations, notDetermined, dotSegments: dotNotes, detectedProxy: detected };
  const advice = standInAdvice(e, serverName);
  if (decoded || refusedByProxy) {
    const what = decoded
      ? "an encoded '/' (%2F) in an ID changes how the request is routed (the homeserver answers M_UNRECOGNIZED instead of its usual error): the proxy decodes %2F or rewrites the path"
      : "the proxy refuses requests with an encoded '/' (%2F) in an ID (the answer is not a Matrix response)";
    return [
      {
        id: ID,
        status: 'fail',
        target: e.target,
        summary: `${name} (live mode): ${what}`,
        hint: fixHint(
          decoded ? 'canonicalization' : 'encoded-slash-refused',
          detected,
          `IDs containing '/' (room v3 event IDs, state keys, historical user IDs) cannot be requested, and ${FEDERATION_SIGNATURE_IMPACT}. To see every change byte for byte, ${advice.replace(/^for a certain answer, /, '')}.`,
        ),
        details,
      },
    ];
  }
  if (conclusive === 0) {
    return [
      {
        id: ID,
        status: 'skip',
        target: e.target,
        summary: `not run: ${name} (live mode): no probe route answered like a homeserver, so what the proxy does to request targets could not be observed — ${advice}`,
        details,
      },
    ];
  }
  const status: Status = other > 0 ? 'warn' : 'pass';
  const seen = status === 'pass' ? "an encoded '/' in an ID is routed like a plain ID" : "an encoded '/' in an ID gets a different answer than a plain ID";
  return [
    {
      id: ID,
      status,
      target: e.target,
      summary: `${name} (live mode): ${seen}${dotNotes.length ? '; ' + dotNotes.join('; ') : ''}. ${notDetermined[0]!.toUpperCase()}${notDetermined.slice(1)}; ${advice}.`,
      ...(status === 'warn' ? { hint: `Compare the answers in details; ${advice}.` } : {}),
      details,
    },
  ];
}

/** All findings for a proxy evidence bundle. */
export function judge(pe: ProxyEvidence, serverName = '<your server name>'): Finding[] {
  const out: Finding[] = [];
  for (const e of pe.endpoints) {
    if (e.mode === 'unreachable') {
      out.push({ id: ID, status: 'skip', target: e.target, summary: `not run: ${endpointName(e)}: ${e.modeReason}` });
      continue;
    }
    out.push(...(e.mode === 'exact' ? exactFindings(e) : liveFindings(e, serverName)));
  }
  if (out.length === 0) out.push({ id: ID, status: 'skip', summary: `not run: no endpoint to probe${pe.notes.length ? ` (${pe.notes.join('; ')})` : ''}` });
  return out;
}

const check: Check = {
  id: ID,
  title: 'The reverse proxy passes request targets on byte for byte (no URI canonicalisation)',
  run(ev: ServerEvidence): Finding[] {
    const { pe, cause } = proxyEvidenceOf(ev);
    if (!pe) return [{ id: ID, status: 'skip', summary: `not run: ${cause}` }];
    const name = 'serverName' in ev.parsed ? ev.parsed.serverName : ev.input;
    return judge(pe, name);
  },
};
export default check;
