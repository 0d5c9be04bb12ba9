/**
 * Shared, pure reading of the client-discovery evidence (`ev.extra.client`, gathered by
 * probes/client.ts) for the client-well-known, client-versions, cors and support-well-known
 * checks: the outcome a client reaches (spec §2.3) and why, decided once.
 */
import type { ServerEvidence } from '../core/evidence.js';
import type { HttpExchange, HttpResponseEvidence } from '../core/types.js';
import {
  joinBase,
  parseClientWellKnown,
  validateIdentity,
  validateVersions,
  type ClientFileVerdict,
  type ClientOutcome,
  type VersionsVerdict,
} from '../core/client-discovery.js';
import type { ClientCopiesEvidence, ClientEvidence, CompatibilityEvidence } from '../probes/client.js';
import { lastExchange, redirectCount, type FollowedFetch } from '../probes/follow.js';

function isObj(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function isFetch(x: unknown): x is FollowedFetch {
  return isObj(x) && typeof x['url'] === 'string' && Array.isArray(x['hops']) && typeof x['outcome'] === 'string';
}

/** Why `ev.extra.client` is missing: for the `skip` findings of the client checks. */
export function clientSkipCause(ev: ServerEvidence): string {
  const c = ev.extra?.['client'];
  if (isObj(c) && typeof c['probeError'] === 'string') return `the client discovery probe failed (${c['probeError'].slice(0, 200)})`;
  if (c === undefined && ev.deadlineHit) return 'the deadline was reached before the client files were fetched';
  return 'the client discovery probe did not run';
}

/** `ev.extra.client` when it has the expected shape (a saved bundle may be anything). */
export function clientEvidence(ev: ServerEvidence): ClientEvidence | null {
  const c = ev.extra?.['client'];
  if (!isObj(c) || !isFetch(c['wellKnown']) || !isFetch(c['support'])) return null;
  return c as unknown as ClientEvidence;
}

export function copiesEvidence(ev: ServerEvidence): ClientCopiesEvidence | null {
  const c = ev.extra?.['client-copies'];
  if (!isObj(c) || !Array.isArray(c['copies'])) return null;
  return c as unknown as ClientCopiesEvidence;
}

export function compatibilityEvidence(ev: ServerEvidence): CompatibilityEvidence | null {
  const c = ev.extra?.['compatibility'];
  if (!isObj(c) || typeof c['specHost'] !== 'string' || !Array.isArray(c['probes'])) return null;
  return c as unknown as CompatibilityEvidence;
}

/** The final response of a fetch, when it ended with one. */
export function finalResponse(f: FollowedFetch | null | undefined): HttpResponseEvidence | null {
  if (!f || f.outcome !== 'response') return null;
  return lastExchange(f)?.response ?? null;
}

export type FetchFailureKind = 'unreachable' | 'timeout' | 'tls' | 'redirect' | 'other';

/** Why a fetch did not end in a response, classified for the status it deserves. */
export function fetchFailure(f: FollowedFetch): { kind: FetchFailureKind; text: string } | null {
  if (f.outcome === 'response') return null;
  const hop = f.hops[f.hops.length - 1];
  const via = redirectCount(f) ? ` (after ${redirectCount(f)} redirect${redirectCount(f) > 1 ? 's' : ''})` : '';
  if (f.outcome !== 'error') return { kind: 'redirect', text: `${f.reason ?? f.outcome}${via}` };
  if (hop?.tlsProblem) return { kind: 'tls', text: `cannot be fetched securely: ${hop.tlsProblem}${via}` };
  const e = hop?.exchange.error;
  if (!e) return { kind: 'other', text: `${f.reason ?? 'failed'}${via}` };
  if (e.phase === 'dns' || e.phase === 'connect' || e.phase === 'policy') return { kind: 'unreachable', text: `${e.message}${via}` };
  if (e.phase === 'timeout') return { kind: 'timeout', text: `${e.message}${via}` };
  if (e.phase === 'tls') return { kind: 'tls', text: `${e.message}${via}` };
  return { kind: 'other', text: `${e.message}${via}` };
}

/** The stage of spec §2.3 that decided the outcome. */
export type ClientStage = 'fetch' | 'file' | 'versions' | 'identity' | 'done';

export interface ClientDiscovery {
  outcome: ClientOutcome;
  stage: ClientStage;
  /** one sentence, null when valid */
  reason: string | null;
  file: ClientFileVerdict | null;
  /** set when the fetch of the file itself failed */
  fetchFailure: { kind: FetchFailureKind; text: string } | null;
  versionsUrl: string | null;
  versions: VersionsVerdict | null;
  versionsFailure: string | null;
  identityFailure: string | null;
}

/** Follow spec §2.3 over the gathered evidence. */
export function clientDiscovery(c: ClientEvidence): ClientDiscovery {
  const out: ClientDiscovery = { outcome: 'valid', stage: 'done', reason: null, file: null, fetchFailure: null, versionsUrl: null, versions: null, versionsFailure: null, identityFailure: null };
  const ff = fetchFailure(c.wellKnown);
  if (ff) {
    // The spec does not say; matrix-js-sdk turns any failed fetch into FAIL_PROMPT.
    return { ...out, outcome: 'FAIL_PROMPT', stage: 'fetch', reason: ff.text, fetchFailure: ff };
  }
  const res = finalResponse(c.wellKnown)!;
  const file = parseClientWellKnown(res);
  out.file = file;
  if (file.outcome !== 'valid' && file.problem !== 'no-identity-base-url' && file.problem !== 'bad-identity-base-url') {
    return { ...out, outcome: file.outcome, stage: 'file', reason: file.reason };
  }
  // base_url is a URL: clients validate it with /versions (step 6) before looking at the identity server (step 7).
  if (file.baseUrl) {
    out.versionsUrl = joinBase(file.baseUrl, '/_matrix/client/versions');
    const vf = c.versions ? fetchFailure(c.versions) : { kind: 'other' as const, text: 'it was not fetched' };
    if (vf) out.versionsFailure = vf.text;
    else {
      out.versions = validateVersions(finalResponse(c.versions)!);
      if (!out.versions.ok) out.versionsFailure = out.versions.reason;
    }
    if (out.versionsFailure) {
      return { ...out, outcome: 'FAIL_ERROR', stage: 'versions', reason: `${out.versionsUrl} does not validate: ${out.versionsFailure}` };
    }
  }
  if (file.outcome !== 'valid') return { ...out, outcome: file.outcome, stage: 'identity', reason: file.reason };
  if (file.identityBaseUrl) {
    const idUrl = joinBase(file.identityBaseUrl, '/_matrix/identity/v2');
    const f = c.identity?.fetch;
    const fail = f ? fetchFailure(f) : { kind: 'other' as const, text: 'it was not fetched' };
    const why = fail ? fail.text : validateIdentity(finalResponse(f)!).reason;
    if (why) {
      out.identityFailure = why;
      return { ...out, outcome: 'FAIL_ERROR', stage: 'identity', reason: `the identity server ${idUrl} does not validate: ${why}` };
    }
  }
  return out;
}

/** The TLS/HTTP exchange behind a response, for details. */
export function exchangeSummary(x: HttpExchange | null | undefined): Record<string, unknown> | null {
  if (!x) return null;
  return { url: x.url, method: x.method, status: x.response?.status ?? null, error: x.error?.message ?? null };
}

export function hopsSummary(f: FollowedFetch | null | undefined): Array<Record<string, unknown>> {
  return (f?.hops ?? []).map((h) => ({ url: h.exchange.url, status: h.exchange.response?.status ?? null, error: h.exchange.error?.message ?? h.tlsProblem ?? null }));
}
