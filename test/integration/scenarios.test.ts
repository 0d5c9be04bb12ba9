/**
 * Every lab scenario, run through the real gather → judge pipeline against real servers on
 * loopback (dns2 DNS, TLS with a minted CA, HTTP hosts), asserting the scenario's expectation:
 * for discovery scenarios `method`, `hostHeader`, `tlsServerName` and `targets` (order included).
 */
import { describe, it } from 'node:test';
import { scenarios } from '../../src/lab/scenarios/index.js';
import { assertExpectation, runScenario } from '../helpers/lab.js';

describe('lab scenarios', { concurrency: 4 }, () => {
  for (const s of scenarios) {
    it(`${s.name}: ${s.title}`, async () => {
      const { report } = await runScenario(s);
      assertExpectation(s, report);
    });
  }
});
