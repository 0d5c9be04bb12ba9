/**
 * `srv`: the SRV lookups of spec §1 steps 3.3/3.4 and 4/5: `_matrix-fed._tcp` first, the
 * deprecated `_matrix._tcp` only when the former has no record. A failed lookup (SERVFAIL,
 * timeout) is told apart from "no record" (NXDOMAIN/NODATA): implementations disagree on it.
 */
import type { DnsLookup, Finding, SrvRecord } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { MAX_SRV_TARGETS } from '../probes/resolve.js';

function fmt(r: SrvRecord): string {
  return `${r.name}:${r.port} (priority ${r.priority}, weight ${r.weight})`;
}

/** The records in tried order, at most the first few spelt out (an answer can hold thousands). */
const LISTED = 8;
function list(records: SrvRecord[]): string {
  const shown = records.slice(0, LISTED).map(fmt).join(', ');
  return records.length > LISTED ? `${records.length} records: ${shown} and ${records.length - LISTED} more` : shown;
}

function describe(l: DnsLookup): string {
  switch (l.outcome) {
    case 'nxdomain': return 'NXDOMAIN';
    case 'nodata': return 'no SRV record';
    case 'ok': return `${l.srv?.length ?? 0} record(s)`;
    default: return l.error?.message ?? l.outcome;
  }
}

const check: Check = {
  id: 'srv',
  title: 'SRV records _matrix-fed._tcp (and the deprecated _matrix._tcp)',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip('srv', 'the server name is invalid')];
    const d = ev.discovery;
    if (!d) return [skip('srv', 'discovery did not run')];
    const srv = d.srv;
    if (!srv) {
      const why = d.parsed.hostKind !== 'dns' ? 'the server name is an IP literal'
        : d.parsed.port !== null ? 'the server name has an explicit port'
          : d.resolution?.method === 'well-known-ip-literal' ? 'the well-known delegates to an IP literal'
            : 'the well-known delegates to a name with an explicit port';
      return [{ id: 'srv', status: 'info', summary: `not consulted: ${why} (spec §1)` }];
    }
    const out: Finding[] = [];
    const fedName = srv.fed.name;
    const legacyName = srv.legacy?.name ?? `_matrix._tcp.${srv.host}`;
    const details = { fed: { name: fedName, outcome: srv.fed.outcome, records: srv.fed.srv ?? [] }, legacy: srv.legacy ? { name: legacyName, outcome: srv.legacy.outcome, records: srv.legacy.srv ?? [] } : null, order: srv.ordered };
    if (srv.failed) {
      const failed = srv.fed.error ? srv.fed : srv.legacy!;
      out.push({
        id: 'srv', status: 'fail', details,
        summary: `SRV lookup failed: ${failed.error?.message ?? failed.outcome}`,
        hint: 'A failed lookup is not "no record": Synapse and conduwuit stop federating with you until it succeeds, while Dendrite and Conduit fall back to port 8448. Fix the authoritative DNS servers for this zone (check with `dig SRV ' + failed.name + '`).',
      });
      return out;
    }
    if (srv.unavailable) {
      out.push({ id: 'srv', status: 'fail', details, summary: `${srv.used === 'fed' ? fedName : legacyName} has the single target "." — the service is declared unavailable (RFC 2782)`, hint: 'Remove the "." SRV record (or point it at your homeserver) if this server should federate.' });
      return out;
    }
    if (srv.used === 'fed') {
      out.push({ id: 'srv', status: 'pass', details, summary: `${fedName}: ${list(srv.ordered)}` });
      if (srv.legacy && srv.legacy.outcome === 'ok' && srv.legacy.srv?.length) {
        out.push({ id: 'srv', status: 'info', summary: `${legacyName} also exists; it is ignored while ${fedName} has records`, hint: 'You can remove the deprecated _matrix._tcp record once every server you talk to supports Matrix v1.8 (_matrix-fed).' });
      }
    } else if (srv.used === 'legacy') {
      out.push({
        id: 'srv', status: 'warn', details,
        summary: `only the deprecated ${legacyName} exists: ${list(srv.ordered)} (${fedName}: ${describe(srv.fed)})`,
        hint: `Add the same record as ${fedName} — _matrix._tcp is deprecated (spec v1.8) and may stop being consulted. Better still, delegate with /.well-known/matrix/server.`,
      });
    } else {
      out.push({ id: 'srv', status: 'info', details, summary: `no SRV records (${fedName}: ${describe(srv.fed)}; ${legacyName}: ${srv.legacy ? describe(srv.legacy) : 'not asked'}): port 8448 is used` });
    }
    if (srv.used) {
      const usable = srv.ordered.filter((r) => r.name !== '.');
      const zero = usable.filter((r) => r.port === 0);
      if (zero.length) {
        out.push({
          id: 'srv', status: 'fail',
          summary: `${zero.length === 1 ? 'the SRV record' : `${zero.length} SRV records`} for ${zero.slice(0, 3).map((r) => r.name).join(', ')} name${zero.length === 1 ? 's' : ''} port 0, where no server can listen`,
          hint: 'Set the port of the SRV record to the port the homeserver (or its reverse proxy) listens on, normally 8448 or 443.',
        });
      }
      if (usable.length > MAX_SRV_TARGETS) {
        out.push({
          id: 'srv', status: 'warn',
          summary: `${usable.length} SRV records: only the first ${MAX_SRV_TARGETS} targets, in the order homeservers try them, are checked`,
          hint: 'Homeservers try SRV targets one at a time, in priority order; more than a handful of records is almost certainly a mistake in the zone. Keep the records of the servers that really serve federation.',
        });
      }
    }
    for (const t of d.targets) {
      if (t.fromSrv && t.cname && t.cname.outcome === 'ok' && t.cname.addresses?.length) {
        out.push({
          id: 'srv', status: 'warn',
          summary: `SRV target ${t.host} is a CNAME (to ${t.cname.addresses.join(', ')})`,
          hint: 'RFC 2782 forbids aliases as SRV targets: point the SRV record at the canonical name (or give the target its own A/AAAA records). Synapse tolerates it, but the federation tester and strict resolvers reject it.',
        });
      }
    }
    return out;
  },
};
export default check;
