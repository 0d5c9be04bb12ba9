/**
 * `fedcheck judge` must reproduce the report of the run that saved the evidence. That holds only
 * if (1) the evidence survives JSON (no Buffers, Maps, class instances, undefined-vs-missing
 * differences that a check can see) and (2) no check reads the clock — "now" is the evidence's
 * `collectedAt`. For every lab scenario: gather, judge; then judge the evidence again after a
 * JSON round trip (exactly what --save-evidence writes and judge reads) with the clock moved
 * three days ahead, and require the identical report.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scenarios } from '../../src/lab/scenarios/index.js';
import { runScenario } from '../helpers/lab.js';
import { judgeServer, buildReport } from '../../src/run/judge.js';
import { renderJson } from '../../src/report/json.js';
import { evidenceBundle } from '../../src/cli/output.js';
import { judgeBundle } from '../../src/cli/judge.js';
import type { ServerEvidence } from '../../src/core/evidence.js';

const THREE_DAYS = 3 * 86_400_000;

/** Run `f` with `Date.now()` and `new Date()` moved `ms` ahead (synchronously: nothing else runs meanwhile). */
function withClockAhead<T>(ms: number, f: () => T): T {
  const Real = globalThis.Date;
  class Later extends Real {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(Real.now() + ms);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return Real.now() + ms;
    }
  }
  globalThis.Date = Later as DateConstructor;
  try {
    return f();
  } finally {
    globalThis.Date = Real;
  }
}

function judgedLater(evidence: ServerEvidence[], createdAt: string): string {
  const bundle = JSON.parse(JSON.stringify(evidenceBundle(buildReport([], new Date(createdAt)), evidence), null, 1));
  return withClockAhead(THREE_DAYS, () => renderJson(judgeBundle(bundle)));
}

describe('judge reproduces every lab scenario from its saved evidence', { concurrency: 8 }, () => {
  it('the clock really moves ahead while judging (the guard works)', () => {
    const before = Date.now();
    const inside = withClockAhead(THREE_DAYS, () => [Date.now(), new Date().getTime()]);
    assert.ok(inside[0]! - before >= THREE_DAYS && inside[1]! - before >= THREE_DAYS);
    assert.ok(Date.now() - before < THREE_DAYS, 'and is restored afterwards');
  });
  for (const s of scenarios) {
    it(s.name, async () => {
      const { evidence } = await runScenario(s, { timeoutMs: 2500 });
      const createdAt = new Date(evidence.collectedAt + evidence.durationMs).toISOString();
      const original = renderJson(buildReport([judgeServer(evidence)], new Date(createdAt)));
      assert.equal(judgedLater([evidence], createdAt), original);
    });
  }
});
