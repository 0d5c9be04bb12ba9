/**
 * The hostile-server corpus (issue 8): every behaviour in src/lab/scenarios/hostile.ts (the
 * declarative ones, also in `fedcheck demo --list`) and in ./raw-behaviours.ts (raw servers),
 * each run against fedcheck with a 3 s timeout and held to the invariants in ./harness.ts.
 * Prints `hostile: N/N behaviours held` at the end.
 */
import assert from 'node:assert/strict';
import { hostileScenarios } from '../../src/lab/scenarios/hostile.js';
import { assertExpectation } from '../helpers/lab.js';
import { corpus, finding, none, type Behaviour, type RunResult } from './harness.js';
import { rawBehaviours } from './raw-behaviours.js';

/** Further assertions for some declarative scenarios, beyond their `expect` block. */
const extra: Record<string, (r: RunResult) => void> = {
  'hostile-dns-truncated': (r) => {
    assert.ok(r.lab.lab.dns.queries.some((q) => q.type === 'SRV' && q.transport === 'tcp'), 'the truncated SRV answer was not retried over TCP');
  },
  'hostile-redirect-http': (r) => {
    assert.ok(!r.evidence.discovery!.wellKnown!.hops.some((h) => h.exchange.url.startsWith('http:')), 'an http:// URL was fetched');
  },
  'hostile-mserver-long': (r) => {
    const f = finding(r.report, 'well-known', 'fail');
    assert.ok(f.summary.length < 600, `summary is ${f.summary.length} characters`);
  },
  'hostile-tls-idn-punycode': (r) => none(r.report, 'tls', 'fail'),
  'hostile-tls-wildcard-one-label': (r) => none(r.report, 'tls', 'fail'),
};

/** Many sequential round trips: timed alone (see Behaviour.exclusive). */
const exclusive = new Set(['hostile-redirect-30']);

const declarative: Behaviour[] = hostileScenarios.map((s) => ({
  name: s.name,
  exclusive: exclusive.has(s.name),
  area: s.name.includes('-redirect-') ? 'redirect' : s.name.includes('-mserver-') ? 'value' : s.name.includes('-dns-') ? 'dns' : s.name.includes('-tls-') ? 'tls' : 'http',
  title: s.title.replace(/^hostile: /, ''),
  deploy: () => ({ scenario: s }),
  expect: (r) => {
    assertExpectation(s, r.report);
    extra[s.name]?.(r);
  },
}));

corpus('hostile servers', [...declarative, ...rawBehaviours], 6);
