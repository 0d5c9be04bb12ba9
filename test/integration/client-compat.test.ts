/**
 * What the scenario expectations cannot say: on a clean setup the client checks and the
 * compatibility check stay quiet — no warning, no failure, and for compatibility nothing but the
 * single "agree" pass (and the lab's loopback note).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findScenario } from '../../src/lab/scenarios/index.js';
import { runScenario } from '../helpers/lab.js';

const MINE = new Set(['client-well-known', 'client-versions', 'cors', 'support-well-known', 'compatibility']);

describe('clean setups stay quiet', { concurrency: 3 }, () => {
  for (const name of ['healthy', 'client-valid', 'compat-clean']) {
    it(name, async () => {
      const s = findScenario(name);
      assert.ok(s, name);
      const { report } = await runScenario(s);
      const mine = report.checks.filter((c) => MINE.has(c.id));
      const loud = mine.filter((c) => c.status === 'warn' || c.status === 'fail');
      assert.deepEqual(loud, [], JSON.stringify(mine, null, 2));
      const compat = mine.filter((c) => c.id === 'compatibility');
      assert.equal(compat.filter((c) => c.status === 'pass').length, 1);
      assert.ok(compat.every((c) => c.status === 'pass' || (c.status === 'info' && c.summary.includes('fine for a lab'))), JSON.stringify(compat));
      if (name !== 'compat-clean') {
        for (const id of ['client-well-known', 'client-versions', 'cors']) {
          assert.ok(mine.some((c) => c.id === id && c.status === 'pass'), `${id} passes`);
        }
      }
    });
  }
});
