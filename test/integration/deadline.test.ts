/**
 * Issue 2 acceptance: a server that accepts connections and never answers cannot make the run
 * exceed --timeout. Runs the real CLI (bin/fedcheck.js) against a lab whose every host is silent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLab } from '../../src/lab/deployment.js';
import type { Scenario } from '../../src/lab/scenario-types.js';
import '../helpers/lab.js';

const BIN = fileURLToPath(new URL('../../../bin/fedcheck.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', FEDCHECK_LOOPBACK_ONLY: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

const silent: Scenario = {
  name: 'all-silent',
  title: 'every host accepts TCP and never answers',
  group: 'hostile',
  serverName: 'example.org',
  zone: { 'example.org': { A: ['127.0.0.2'] }, '_matrix-fed._tcp.example.org': { SRV: [{ priority: 0, weight: 0, port: 8448, target: 'hs.example.org' }] }, 'hs.example.org': { A: ['127.0.0.3', '127.0.0.4'] } },
  hosts: [
    { address: '127.0.0.2', port: 443, fault: 'silent' },
    { address: '127.0.0.3', port: 8448, fault: 'silent' },
    { address: '127.0.0.4', port: 8448, fault: 'tls-stall' },
  ],
  expect: {},
};

describe('deadline', () => {
  for (const timeout of [2, 4]) {
    it(`silent servers never push the run past --timeout ${timeout}`, async () => {
      const lab = await startLab(silent);
      try {
        const r = await run(['check', ...lab.cliArgs, '--timeout', String(timeout), '--json']);
        // node start-up and rendering on top of the deadline: well under a second here
        assert.ok(r.ms < timeout * 1000 + 1500, `took ${r.ms} ms with --timeout ${timeout}`);
        assert.equal(r.code, 1, r.stderr);
        const report = JSON.parse(r.stdout);
        assert.equal(report.ok, false);
        assert.equal(report.servers[0].resolution.method, 'srv');
        // both silent addresses are still reported
        assert.deepEqual(report.servers[0].resolution.targets[0].addresses, ['127.0.0.3', '127.0.0.4']);
      } finally {
        await lab.stop();
      }
    });
  }
});
