/**
 * --resolver, --resolve, --connect-to and -4/-6 against the lab: every lookup goes to the given
 * resolver (including those behind HTTPS connections), and the curl-style overrides apply.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startLab } from '../../src/lab/deployment.js';
import { findScenario } from '../../src/lab/scenarios/index.js';
import { gatherServer, prepare } from '../../src/run/gather.js';
import { judgeServer } from '../../src/run/judge.js';
import type { RunOptions } from '../../src/run/options.js';
import type { Scenario } from '../../src/lab/scenario-types.js';
import '../helpers/lab.js';

async function check(s: Scenario, tweak: (o: RunOptions) => RunOptions) {
  const lab = await startLab(s);
  try {
    const o = tweak(lab.runOptions);
    const ev = await gatherServer(s.serverName, o, prepare(o));
    return { report: judgeServer(ev), ev, queries: [...lab.dns.queries] };
  } finally {
    await lab.stop();
  }
}

describe('network options', () => {
  it('--resolver receives every lookup of the run, including the one behind the well-known HTTPS fetch', async () => {
    const { report, queries } = await check(findScenario('healthy')!, (o) => o);
    assert.equal(report.ok, true);
    const asked = new Set(queries.map((q) => `${q.type} ${q.name.toLowerCase()}`));
    for (const q of ['A example.org', 'A matrix.example.org', 'AAAA matrix.example.org', 'SRV _matrix-fed._tcp.example.org']) {
      assert.ok(asked.has(q), `${q} not asked of the lab resolver: ${[...asked].join(', ')}`);
    }
  });

  it('--resolve pins a name before DNS points at it (no lookup for it)', async () => {
    const s = structuredClone(findScenario('healthy')!);
    delete s.zone['matrix.example.org']; // DNS does not know the new host yet
    const { report, queries } = await check(s, (o) => ({ ...o, resolve: ['matrix.example.org:443:127.0.0.3'] }));
    assert.equal(report.resolution?.method, 'well-known-explicit-port');
    assert.deepEqual(report.resolution?.targets, [{ host: 'matrix.example.org', port: 443, addresses: ['127.0.0.3'] }]);
    assert.ok(!queries.some((q) => q.name.toLowerCase() === 'matrix.example.org'), 'the pinned name was looked up');
    assert.ok(report.checks.some((c) => c.id === 'dns' && c.status === 'info' && c.summary.includes('--resolve')));
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status === 'fail')));
  });

  it('--connect-to sends a host:port elsewhere while keeping TLS name and Host', async () => {
    const s = structuredClone(findScenario('healthy')!);
    delete s.zone['matrix.example.org'];
    const { report } = await check(s, (o) => ({ ...o, connectTo: [...o.connectTo, 'matrix.example.org:443:127.0.0.3:443'] }));
    assert.equal(report.resolution?.hostHeader, 'matrix.example.org:443');
    assert.equal(report.resolution?.tlsServerName, 'matrix.example.org');
    assert.deepEqual(report.resolution?.targets[0]?.addresses, ['127.0.0.3']);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status === 'fail')));
  });

  it('-4 and -6 keep only one address family', async () => {
    const v4 = await check(findScenario('healthy')!, (o) => ({ ...o, family: 4 }));
    assert.deepEqual(v4.report.resolution?.targets[0]?.addresses, ['127.0.0.3']);
    assert.ok(!v4.queries.some((q) => q.type === 'AAAA'), 'AAAA asked with -4');
    const v6 = await check(findScenario('default-port')!, (o) => ({ ...o, family: 6 }));
    assert.deepEqual(v6.report.resolution?.targets[0]?.addresses, ['::1']);
    assert.ok(!v6.queries.some((q) => q.type === 'A'), 'A asked with -6');
    assert.equal(v6.report.ok, true, JSON.stringify(v6.report.checks.filter((c) => c.status === 'fail')));
    // -6 applies to the well-known fetch too: an apex with only an A record cannot serve it
    const h6 = await check(findScenario('healthy')!, (o) => ({ ...o, family: 6 }));
    assert.ok(h6.report.checks.some((c) => c.id === 'well-known' && /no HTTPS server answered/.test(c.summary)));
  });
});
