/**
 * `client-versions`: `<base_url>/_matrix/client/versions` (spec §2.3 step 6) — the request
 * clients make to validate base_url — answers 200 with a body matching its schema (`versions`:
 * array of strings; optional `unstable_features`: string → boolean). It goes through the client
 * host and port, which may differ from the federation ones.
 */
import type { Finding } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { describeVersions } from '../core/client-discovery.js';
import { quote } from '../core/sanitize.js';
import { redirectCount } from '../probes/follow.js';
import { clientDiscovery, clientEvidence, clientSkipCause, fetchFailure, finalResponse, hopsSummary } from './client-evidence.js';

const ID = 'client-versions' as const;

function portOf(url: string): string {
  try {
    const u = new URL(url);
    return u.port || (u.protocol === 'https:' ? '443' : '80');
  } catch {
    return '?';
  }
}

const check: Check = {
  id: ID,
  title: '<base_url>/_matrix/client/versions answers with a valid body',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const c = clientEvidence(ev);
    if (!c) return [skip(ID, clientSkipCause(ev))];
    const d = clientDiscovery(c);
    if (!d.versionsUrl) {
      const why = d.stage === 'fetch'
        ? `${c.wellKnown.url} could not be fetched`
        : d.outcome === 'IGNORE'
          ? `there is no client well-known (${c.wellKnown.url} answered 404), so no base_url`
          : `the client well-known gives no usable base_url (${d.outcome})`;
      return [skip(ID, why)];
    }
    const url = d.versionsUrl;
    const fedPorts = [...new Set((ev.discovery?.resolution?.targets ?? []).map((t) => String(t.port)))];
    const clientPort = portOf(url);
    const portNote = fedPorts.length && !fedPorts.includes(clientPort) ? ` through port ${clientPort} (federation uses ${fedPorts.join(', ')})` : '';
    const details: Record<string, unknown> = { url, hops: hopsSummary(c.versions), clientPort, federationPorts: fedPorts };
    const n = redirectCount(c.versions);
    const via = n ? ` (after ${n} redirect${n > 1 ? 's' : ''})` : '';
    const failure = c.versions ? fetchFailure(c.versions) : null;
    if (!c.versions || failure) {
      return [{
        id: ID, status: 'fail', details,
        summary: `${url}${portNote}: ${failure?.text ?? 'not fetched'}; clients stop the login (FAIL_ERROR)`,
        hint: failure?.kind === 'tls'
          ? 'Clients check the certificate of the base_url host like any HTTPS site: use a publicly trusted certificate that covers it.'
          : 'base_url must point at the homeserver\'s client API as seen from outside: check DNS for its host, the port, and that the reverse proxy forwards /_matrix to the homeserver.',
      }];
    }
    const res = finalResponse(c.versions)!;
    const v = d.versions!;
    details.status = res.status;
    if (!v.ok) {
      return [{
        id: ID, status: 'fail', details,
        summary: `${url}${via}${portNote}: ${v.reason}; clients stop the login (FAIL_ERROR)`,
        hint: res.status === 404
          ? 'The request reached a server that does not serve the client API: forward /_matrix/client/ to the homeserver (not only /_matrix/federation/), or correct base_url.'
          : 'The answer must be 200 with {"versions": ["v1.1", …]} from the homeserver: check what the reverse proxy sends to it.',
      }];
    }
    const out: Finding[] = [{
      id: ID, status: 'pass', details: { ...details, versions: v.versions, unstableFeatures: v.unstableFeatures },
      summary: `${url}${via}${portNote}: ${describeVersions(v.versions)}${v.unstableFeatures ? `, ${v.unstableFeatures} unstable feature${v.unstableFeatures === 1 ? '' : 's'}` : ''}`,
    }];
    if (v.versions.length > 0 && v.unrecognised.length === v.versions.length) {
      out[0]!.status = 'warn';
      out[0]!.hint = `None of the versions looks like "vX.Y" (or the historical "rX.Y.Z"), e.g. ${quote(v.unrecognised[0]!, 30)}: clients will not find a version they support.`;
    } else if (v.versions.length === 0) {
      out[0]!.status = 'warn';
      out[0]!.hint = '"versions" is empty: clients will not find a version they support.';
    }
    return out;
  },
};
export default check;
