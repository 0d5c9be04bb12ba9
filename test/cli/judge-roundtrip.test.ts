/**
 * `fedcheck judge` must reproduce the report of the run that saved the evidence. That holds only
 * if (1) the evidence survives JSON (no Buffers, Maps, class instances, undefined-vs-missing
 * differences that a check can see) and (2) no check reads the clock — "now" is the evidence's
 * `collectedAt`. For every lab scenario: gather, judge; then judge the evidence again after a
 * JSON round trip (exactly what --save-evidence writes and judge reads) with the clock moved
 * three days ahead, and require the identical report.
 */
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { scenarios } from '../../src/lab/scenarios/index.js';
import { runScenario } from '../helpers/lab.js';
import { judgeServer, buildReport } from '../../src/run/judge.js';
import { renderJson } from '../../src/report/json.js';
import { evidenceBundle } from '../../src/cli/output.js';
import { judgeBundle } from '../../src/cli/judge.js';
import type { ServerEvidence } from '../../src/core/evidence.js';

const THREE_DAYS = 3 * 86_400_000;

function judgedLater(evidence: ServerEvidence[], createdAt: string): string {
  const bundle = JSON.parse(JSON.stringify(evidenceBundle(buildReport([], new Date(createdAt)), evidence), null, 1));
  mock.timers.enable({ apis: ['Date'], now: Date.now() + THREE_DAYS });
  try {
    return renderJson(judgeBundle(bundle));
  } finally {
    mock.timers.reset();
  }
}

describe('judge reproduces every lab scenario from its saved evidence', { concurrency: 6 }, () => {
  for (const s of scenarios) {
    it(s.name, async () => {
      const { evidence } = await runScenario(s, { timeoutMs: 6000 });
      const createdAt = new Date(evidence.collectedAt + evidence.durationMs).toISOString();
      const original = renderJson(buildReport([judgeServer(evidence)], new Date(createdAt)));
      assert.equal(judgedLater([evidence], createdAt), original);
    });
  }
});
