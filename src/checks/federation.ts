/**
 * `federation`: the verdict. Federation is OK only if resolution completed and EVERY resolved
 * address passes `tls`, `federation-version` and `server-keys` — a remote homeserver may pick
 * any of them (the federation tester's FederationOK has the same rule). When some pass and some
 * fail, the verdict names the failing ones: remote servers will fail intermittently.
 */
import type { CheckId, Finding } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import tls from './tls.js';
import federationVersion from './federation-version.js';
import serverKeys from './server-keys.js';

const ID = 'federation' as const;
const REQUIRED: Check[] = [tls, federationVersion, serverKeys];

function list(xs: string[], max = 6): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
}

const check: Check = {
  id: ID,
  title: 'Verdict: every resolved address passes tls, federation-version and server-keys',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const d = ev.discovery;
    if (!d) {
      return [{ id: ID, status: 'fail', summary: `federation fails: discovery did not complete${ev.deadlineHit ? ' before the deadline' : ''}` }];
    }
    if (!d.resolution || d.resolution.targets.length === 0) {
      return [{
        id: ID, status: 'fail',
        summary: `federation fails: the server name could not be resolved — ${d.resolutionError ?? 'no target to connect to'}`,
        hint: 'See the well-known, srv and dns results above: remote servers cannot find where to connect.',
      }];
    }
    if (ev.addresses.length === 0) {
      const why = ev.deadlineHit ? 'the deadline was reached before any address was probed' : 'no address was found for the targets (see dns)';
      return [{ id: ID, status: 'fail', summary: `federation fails: no address could be probed — ${why}`, hint: 'Give the target host an A and/or AAAA record pointing at the server that terminates TLS for Matrix.' }];
    }

    const findings = REQUIRED.flatMap((c) => c.run(ev));
    const perAddress = ev.addresses.map((ae) => {
      const mine = findings.filter((f) => f.target === ae.target);
      const failed = [...new Set(mine.filter((f) => f.status === 'fail').map((f) => f.id))] as CheckId[];
      const warned = mine.some((f) => f.status === 'warn');
      // an address passes only if each required check actually ran on it and none failed
      const ran = REQUIRED.every((c) => mine.some((f) => f.id === c.id && f.status !== 'skip'));
      const ok = failed.length === 0 && ran;
      return { target: ae.target, failed: ok ? [] : failed.length ? failed : (['tls'] as CheckId[]), warned };
    });
    const bad = perAddress.filter((a) => a.failed.length > 0);
    const good = perAddress.filter((a) => a.failed.length === 0);
    const details = {
      addresses: perAddress.map((a) => ({ target: a.target, ok: a.failed.length === 0, failed: a.failed })),
      method: d.resolution.method,
    };
    const describeBad = list(bad.map((a) => `${a.target} (${a.failed.join(', ')})`));
    const out: Finding[] = [];

    const srvFailed = d.srv?.failed === true;
    if (bad.length === 0 && srvFailed) {
      out.push({
        id: ID, status: 'fail',
        summary: `federation fails with Synapse and conduwuit: the SRV lookup failed, and they do not connect until it succeeds; the fallback ${good.length === 1 ? `address ${good[0]!.target} passes` : `addresses (${list(good.map((a) => a.target))}) pass`}, but only Dendrite and Conduit fall back to ${good.length === 1 ? 'it' : 'them'}`,
        hint: 'Fix the authoritative DNS servers for this zone (see srv): a failed lookup is not the same as "no record".',
        details,
      });
    } else if (bad.length === 0) {
      const warned = good.filter((a) => a.warned).length;
      const n = good.length;
      out.push({
        id: ID, status: 'pass',
        summary: `federation OK: ${n === 1 ? `the only address ${good[0]!.target} passes` : `all ${n} addresses (${list(good.map((a) => a.target))}) pass`} tls, federation-version and server-keys${warned ? ' (with warnings, see above)' : ''}`,
        details,
      });
    } else if (good.length > 0) {
      out.push({
        id: ID, status: 'fail',
        summary: `federation fails intermittently: ${bad.length} of ${perAddress.length} addresses fail — ${describeBad}; ${list(good.map((a) => a.target))} ${good.length === 1 ? 'works' : 'work'}`,
        hint: 'Remote servers pick any resolved address, so some of them (or some of their requests) will fail to reach you while others succeed. Fix the failing addresses, or remove them from DNS.',
        details,
      });
    } else {
      out.push({
        id: ID, status: 'fail',
        summary: `federation fails: ${perAddress.length === 1 ? `the only address ${describeBad} fails` : `none of the ${perAddress.length} addresses works — ${describeBad}`}`,
        hint: 'Remote servers cannot talk to this server: fix the failures reported above for each address.',
        details,
      });
    }
    return out;
  },
};
export default check;
