/** `dns`: A/AAAA of every connect target (spec §1: "resolve … via CNAME, AAAA or A"). */
import type { DnsLookup, Finding } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { lookupFailed } from '../net/dns.js';
import { MAX_ADDRESSES_PER_TARGET } from '../probes/resolve.js';

/** Addresses spelt out in a summary; a hostile answer can carry thousands. */
const LISTED = 8;

function outcome(l: DnsLookup | null): string {
  if (!l) return 'not asked';
  if (l.outcome === 'ok') {
    const all = l.addresses ?? [];
    // NOERROR without an address: the resolver followed CNAMEs that loop or lead nowhere
    if (all.length === 0) return 'no address in the answer (only CNAME records: a chain that loops or ends nowhere?)';
    const shown = all.slice(0, LISTED).join(', ') + (all.length > LISTED ? ` and ${all.length - LISTED} more` : '');
    return shown + (l.ttl !== undefined ? ` (TTL ${l.ttl}s)` : '');
  }
  if (l.outcome === 'nodata') return 'no record';
  if (l.outcome === 'nxdomain') return 'NXDOMAIN';
  return l.error?.message ?? l.outcome;
}

const check: Check = {
  id: 'dns',
  title: 'Address lookups (A/AAAA) of every target',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip('dns', 'the server name is invalid')];
    const d = ev.discovery;
    if (!d || !d.resolution) return [skip('dns', d?.resolutionError ?? 'resolution did not complete')];
    if (d.targets.length === 0) return [skip('dns', d.resolutionError ?? 'no target to look up')];
    const out: Finding[] = [];
    const fam = ev.options.family;
    for (const t of d.targets) {
      const name = `${t.host}:${t.port}`;
      if (t.source === 'literal') {
        out.push({ id: 'dns', status: 'info', summary: `${name}: an IP address, no lookup needed` });
        continue;
      }
      if (t.source === 'resolve-option') {
        out.push({ id: 'dns', status: 'info', summary: `${name}: addresses given by --resolve (${t.addresses.join(', ')}), DNS not consulted` });
        continue;
      }
      if (!t.lookup) {
        out.push({ id: 'dns', status: 'info', summary: `${name}: connections go to ${t.addresses.join(', ')} (${t.via ?? '--connect-to'}), DNS not consulted` });
        continue;
      }
      const l = t.lookup;
      const details = { host: t.host, A: l.a, AAAA: l.aaaa, via: t.via ?? null };
      const via = t.via ? ` [${t.via}]` : '';
      if (t.addresses.length === 0) {
        const failed = lookupFailed(l.a) || lookupFailed(l.aaaa);
        out.push({
          id: 'dns', status: 'fail', details,
          summary: `${l.name}${via}: no address${fam ? ` (IPv${fam} only)` : ''} — A: ${outcome(l.a)}; AAAA: ${outcome(l.aaaa)}`,
          hint: failed
            ? 'The lookup itself failed (not "no record"): check the authoritative DNS servers for this zone.'
            : `Add an A (and/or AAAA) record for ${l.name}${t.fromSrv ? ' — the SRV target must have its own address records' : ''}.`,
        });
        continue;
      }
      const partial = l.failed;
      out.push({
        id: 'dns', status: partial ? 'warn' : 'pass', details,
        summary: `${l.name}${via}: A ${outcome(l.a)}; AAAA ${outcome(l.aaaa)}`,
        ...(partial ? { hint: 'One of the lookups failed rather than answering "no record": some servers will fail to resolve you intermittently. Check the authoritative DNS servers.' } : {}),
      });
      if (l.addresses.length > t.addresses.length && t.addresses.length >= MAX_ADDRESSES_PER_TARGET) {
        out.push({
          id: 'dns', status: 'warn',
          summary: `${l.name}: ${l.addresses.length} addresses; only the first ${t.addresses.length} are checked`,
          hint: 'Remote servers may pick any of these addresses: every one must reach the homeserver. That many address records is unusual; remove those that do not serve Matrix.',
        });
      }
    }
    return out;
  },
};
export default check;
