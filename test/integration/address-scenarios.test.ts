/**
 * The per-address scenarios (issue 3) through the same gather → judge → expectation path as
 * test/integration/scenarios.test.ts. Scenarios already listed in the shared registry run there,
 * so only the ones not (yet) registered run here — each scenario runs exactly once.
 */
import { describe, it } from 'node:test';
import { scenarios } from '../../src/lab/scenarios/index.js';
import { addressScenarios } from '../../src/lab/scenarios/addresses.js';
import { assertExpectation, runScenario } from '../helpers/lab.js';

const registered = new Set(scenarios.map((s) => s.name));

describe('per-address lab scenarios', { concurrency: 4 }, () => {
  for (const s of addressScenarios.filter((x) => !registered.has(x.name))) {
    it(`${s.name}: ${s.title}`, async () => {
      const { report } = await runScenario(s);
      assertExpectation(s, report);
    });
  }
});
