/**
 * A silent address (TCP accepted, TLS never answered) must not hold the run past --timeout, and
 * the other addresses must still be reported in full. Real servers on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressScenarios } from '../../src/lab/scenarios/addresses.js';
import type { Scenario } from '../../src/lab/scenario-types.js';
import { runScenario } from '../helpers/lab.js';

const silent = addressScenarios.find((s) => s.name === 'addresses-silent')!;

/** Slack for closing sockets and judging after the deadline (the deadline itself is the promise). */
const SLACK_MS = 500;

for (const timeoutMs of [1500, 3000]) {
  test(`a silent address never makes the run exceed --timeout (${timeoutMs} ms); the working address is reported`, async () => {
    const { report, ms } = await runScenario(silent, { timeoutMs });
    assert.ok(ms <= timeoutMs + SLACK_MS, `the run took ${ms} ms with --timeout ${timeoutMs} ms`);
    const at = (id: string, target: string) => report.checks.filter((c) => c.id === id && c.target === target);
    for (const id of ['tls', 'federation-version', 'server-keys', 'health']) {
      assert.deepEqual(at(id, '127.0.0.3:443').map((c) => c.status), ['pass'], `${id} at the working address`);
    }
    const dead = at('tls', '127.0.0.4:443');
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.status, 'fail');
    assert.match(dead[0]!.summary, /never completed the TLS handshake/);
    for (const id of ['federation-version', 'server-keys', 'health']) {
      assert.deepEqual(at(id, '127.0.0.4:443').map((c) => c.status), ['skip'], `${id} at the silent address`);
    }
    const verdict = report.checks.filter((c) => c.id === 'federation' && c.status === 'fail');
    assert.ok(verdict.some((c) => /intermittently: 1 of 2 addresses fail — 127\.0\.0\.4:443 \(tls\); 127\.0\.0\.3:443 works/.test(c.summary)), JSON.stringify(verdict));
  });
}

test('every address silent: the run still ends by the deadline, each address reported', async () => {
  const allSilent: Scenario = {
    ...silent,
    name: 'addresses-all-silent',
    hosts: silent.hosts.map((h) => (h.address === '127.0.0.3' ? { address: h.address, port: h.port, fault: 'silent' as const } : h)),
  };
  const timeoutMs = 1500;
  const { report, ms } = await runScenario(allSilent, { timeoutMs });
  assert.ok(ms <= timeoutMs + SLACK_MS, `the run took ${ms} ms`);
  const tls = report.checks.filter((c) => c.id === 'tls');
  assert.deepEqual(tls.map((c) => [c.target, c.status]), [['127.0.0.3:443', 'fail'], ['127.0.0.4:443', 'fail']]);
  assert.equal(report.ok, false);
});
