/**
 * `admin-exposure`: homeserver admin APIs reachable from outside. The deployment docs advise
 * against exposing `/_synapse/admin`, `/_palpo/admin` (and Dendrite's `/_dendrite/admin`) to the
 * internet: they need an admin token, but grant a lot of power.
 *
 * Exact mode: the proxy forwarded the admin path to the stand-in backend (so it would forward it to
 * the homeserver). Live mode: the path answers like a homeserver endpoint (JSON 2xx, or a Matrix
 * auth error: M_MISSING_TOKEN, M_UNKNOWN_TOKEN, M_FORBIDDEN, M_UNAUTHORIZED). A 404, a non-JSON
 * page (Caddy answers unmatched paths with an empty 200) or M_UNRECOGNIZED is not exposure.
 */
import type { Finding } from '../core/types.js';
import type { AdminProbeResult, ProxyEndpointEvidence } from '../probes/proxy.js';
import { detectedProxyOf, endpointName, fixHint, perEndpointCheck } from './proxy-fixes.js';

const ID = 'admin-exposure' as const;

const AUTH_ERRORS = new Set(['M_MISSING_TOKEN', 'M_UNKNOWN_TOKEN', 'M_FORBIDDEN', 'M_UNAUTHORIZED']);

/** Does this admin probe show an answering admin API? */
export function adminAnswers(r: AdminProbeResult): boolean {
  if (r.forwarded) return true;
  const res = r.response;
  if (!res || !res.json) return false;
  if (res.status >= 200 && res.status < 300) return !res.errcode;
  if (res.status === 401 || res.status === 403) return res.errcode !== null && AUTH_ERRORS.has(res.errcode);
  return false;
}

function endpointFinding(e: ProxyEndpointEvidence): Finding {
  const name = endpointName(e);
  if (e.mode === 'unreachable') return { id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${e.modeReason}` };
  const done = e.admin.filter((a) => a.response || a.forwarded);
  if (done.length === 0) {
    return { id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${e.admin[0]?.error?.message ?? 'the admin probes did not run'}` };
  }
  const answering = e.admin.filter(adminAnswers);
  const details = {
    mode: e.mode,
    probes: e.admin.map((a) => ({
      target: a.target,
      implementation: a.implementation,
      forwarded: a.forwarded,
      status: a.response?.status ?? null,
      errcode: a.response?.errcode ?? null,
      answers: adminAnswers(a),
    })),
  };
  if (answering.length === 0) {
    const checked = [...new Set(e.admin.map((a) => a.prefix))].join(', ');
    return {
      id: ID,
      status: 'pass',
      target: e.target,
      summary:
        e.mode === 'exact'
          ? `${name}: the proxy does not forward admin paths (${checked}) to the homeserver`
          : `${name}: no admin API answers from outside (${checked})`,
      details,
    };
  }
  const prefixes = [...new Set(answering.map((a) => `${a.prefix} (${a.implementation})`))];
  const how =
    e.mode === 'exact'
      ? `the proxy forwards ${prefixes.join(', ')} to the homeserver: that admin API is reachable from the internet if the homeserver serves it`
      : `admin API answers from outside: ${answering.map((a) => `${a.target} → HTTP ${a.response?.status}${a.response?.errcode ? ` ${a.response.errcode}` : ''}`).join('; ')}`;
  return {
    id: ID,
    status: 'warn',
    target: e.target,
    summary: `${name}: ${how}`,
    hint: fixHint('admin', detectedProxyOf(e), 'admin APIs need an admin token but grant a lot of power; the deployment docs advise against exposing them to the internet — keep them reachable only from an admin network.'),
    details,
  };
}

const built = perEndpointCheck(ID, 'Homeserver admin APIs are not reachable from outside', endpointFinding);
export const judge = built.judge;
export default built.check;
