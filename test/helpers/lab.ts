/** Test helpers: run a lab scenario through gather + judge, and compare with its expectation. */
import assert from 'node:assert/strict';
import { startLab, type LabOptions } from '../../src/lab/deployment.js';
import type { Scenario } from '../../src/lab/scenario-types.js';
import { gatherServer, prepare } from '../../src/run/gather.js';
import { judgeServer } from '../../src/run/judge.js';
import type { ServerReport } from '../../src/core/types.js';
import type { ServerEvidence } from '../../src/core/evidence.js';

// Safety net: nothing in the tests may leave loopback.
process.env.FEDCHECK_LOOPBACK_ONLY = '1';

export async function runScenario(s: Scenario, opts: LabOptions = {}): Promise<{ report: ServerReport; evidence: ServerEvidence; ms: number }> {
  const lab = await startLab(s, opts);
  try {
    const t0 = Date.now();
    const evidence = await gatherServer(lab.serverName, lab.runOptions, prepare(lab.runOptions));
    const report = judgeServer(evidence);
    return { report, evidence, ms: Date.now() - t0 };
  } finally {
    await lab.stop();
  }
}

function show(r: ServerReport): string {
  return r.checks.map((c) => `  ${c.status.padEnd(4)} ${c.id}${c.target ? ` @${c.target}` : ''}: ${c.summary}`).join('\n');
}

/** Assert a report matches the scenario's `expect` block. */
export function assertExpectation(s: Scenario, r: ServerReport): void {
  const e = s.expect;
  const ctx = `scenario ${s.name}:\n${show(r)}\nresolution: ${JSON.stringify(r.resolution)}`;
  if (e.method !== undefined) assert.equal(r.resolution?.method ?? null, e.method, ctx);
  if (e.hostHeader !== undefined) assert.equal(r.resolution?.hostHeader, e.hostHeader, ctx);
  if (e.tlsServerName !== undefined) assert.equal(r.resolution?.tlsServerName, e.tlsServerName, ctx);
  if (e.delegatedServerName !== undefined) assert.equal(r.resolution?.delegatedServerName, e.delegatedServerName, ctx);
  if (e.targets !== undefined) assert.deepEqual(r.resolution?.targets, e.targets, ctx);
  for (const f of e.findings ?? []) {
    const match = r.checks.find((c) => c.id === f.id && c.status === f.status && (f.target === undefined || c.target === f.target) && (f.summary === undefined || c.summary.includes(f.summary)));
    assert.ok(match, `${ctx}\nexpected a finding ${JSON.stringify(f)}`);
  }
  if (e.ok !== undefined) assert.equal(r.ok, e.ok, ctx);
}
