/**
 * `upload-limit`: the largest request body the proxy lets through, against what a homeserver
 * usually accepts (50 MiB for media uploads on the client base URL — Synapse's default
 * max_upload_size; about 4 MiB for federation transactions). nginx refuses anything over 1 MiB
 * unless `client_max_body_size` is raised.
 *
 * Measured without sending a body: each attempt declares a Content-Length with
 * `Expect: 100-continue`; `413` means refused, `100 Continue` (or another answer, or waiting for
 * the body) means not refused. The limit is pinned by trying common limits, then bisecting. A
 * limit enforced only while the body streams (Caddy's request_body, for instance) does not show up
 * this way — the summary says how it was measured.
 */
import type { Finding } from '../core/types.js';
import type { ProxyEndpointEvidence, UploadEvidence } from '../probes/proxy.js';
import { detectedProxyOf, endpointName, fixHint, perEndpointCheck } from './proxy-fixes.js';

const ID = 'upload-limit' as const;

/** Human size: 1 MiB, 50 MiB, 1.5 MiB, 900 KiB, 1048577 bytes. */
export function formatBytes(n: number): string {
  const MiB = 1024 * 1024;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= MiB && Math.abs(n / MiB - Math.round((n / MiB) * 10) / 10) < 1e-9) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(2)} MiB (${n} bytes)`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

const HOW = 'measured by declaring Content-Length with "Expect: 100-continue" and sending no body; a limit enforced only while the body streams would not show';

/** The limit as measured: exact, a range, or a lower bound. */
export function describeLimit(u: UploadEvidence): { exact: number | null; low: number; high: number | null } {
  const low = u.largestAccepted ?? 0;
  const high = u.smallestRefused;
  return { exact: high !== null && high === low + 1 ? low : null, low, high };
}

function endpointFinding(e: ProxyEndpointEvidence): Finding {
  const name = endpointName(e);
  const u = e.upload;
  if (e.mode === 'unreachable') return { id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${e.modeReason}` };
  if (!u) return { id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: the upload probe did not run` };
  const errors = u.attempts.filter((a) => a.outcome === 'error');
  if (u.attempts.length === 0 || errors.length === u.attempts.length) {
    return { id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${errors[0]?.error ?? 'no attempt completed'}`, details: { ...u } };
  }
  const first = u.attempts[0]!;
  const details = { ...u, how: HOW };
  const threshold = formatBytes(u.thresholdBytes);
  if (first.declared === u.thresholdBytes && first.outcome !== 'refused' && first.outcome !== 'error') {
    const how =
      first.outcome === 'continue'
        ? 'answered 100 Continue'
        : first.outcome === 'no-response'
          ? 'neither refused nor confirmed it within the wait (waiting for the body)'
          : `answered HTTP ${first.status} without refusing the size`;
    return {
      id: ID,
      status: 'pass',
      target: e.target,
      summary: `${name}: a ${threshold} request body is not refused (${u.method} ${u.target.split('?')[0]} ${how}; ${HOW})`,
      details,
    };
  }
  const lim = describeLimit(u);
  const size =
    lim.exact !== null
      ? `above exactly ${formatBytes(lim.exact)}${lim.exact === 1024 * 1024 ? " (nginx's default client_max_body_size)" : ''}`
      : lim.high !== null && lim.low > 0
        ? `above a limit between ${formatBytes(lim.low)} and ${formatBytes(lim.high)}`
        : lim.high !== null
          ? `of ${formatBytes(lim.high)} and more (even small bodies)`
          : 'above an unknown size';
  if (u.refusedByHomeserver) {
    return {
      id: ID,
      status: 'info',
      target: e.target,
      summary: `${name}: the homeserver itself (a Matrix 413 error, not the proxy) refuses request bodies ${size}; the proxy lets them through (${HOW})`,
      details,
    };
  }
  const consequence =
    e.role === 'federation'
      ? `a federation transaction can reach about ${threshold}: larger ones are refused and other servers keep retrying`
      : `media uploads larger than that fail with 413 although the homeserver advertises ${threshold} (its usual m.upload.size)`;
  return {
    id: ID,
    status: 'warn',
    target: e.target,
    summary: `${name}: the proxy refuses request bodies ${size} with 413 — ${consequence} (${HOW})`,
    hint: fixHint('upload-limit', detectedProxyOf(e), `${consequence}; raise the proxy's limit to at least the homeserver's (${threshold}).`),
    details,
  };
}

const built = perEndpointCheck(ID, 'The request body size the reverse proxy lets through', endpointFinding);
export const judge = built.judge;
export default built.check;
