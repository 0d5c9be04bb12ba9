/**
 * `fedcheck check` spawned against lab deployments running in this process: colour rules
 * (--color / --no-color / NO_COLOR / FORCE_COLOR, nothing when piped), silence on a piped stderr,
 * and several servers in one run (positional names + --from-file, --concurrency, exit code).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../helpers/lab.js';
import { startLab, type LabDeployment } from '../../src/lab/deployment.js';
import { findScenario } from '../../src/lab/scenarios/index.js';
import type { Report } from '../../src/core/types.js';
import { batchScenario } from '../helpers/batch.js';
import { runCli, type CliResult } from './run-cli.js';

const ESC = '\u001b';
const dir = mkdtempSync(join(tmpdir(), 'fedcheck-check-test-'));

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;
}

describe('check against a lab', { concurrency: 6 }, () => {
  let healthy: LabDeployment;
  let batch: LabDeployment;
  let batchNames: string[];

  before(async () => {
    const b = batchScenario(4, { 2: 'no-dns' });
    batchNames = b.servers.map((s) => s.serverName);
    const started = await Promise.allSettled([startLab(findScenario('healthy')!), startLab(b.scenario)]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // do not leave the other lab running (it would keep the test process alive)
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      throw failed.reason;
    }
    [healthy, batch] = started.map((r) => (r as PromiseFulfilledResult<LabDeployment>).value) as [LabDeployment, LabDeployment];
  });
  after(async () => {
    await Promise.all([healthy?.stop(), batch?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const colourCases: Array<[string, string[], Record<string, string>, boolean]> = [
    ['piped, no colour variables: no colour', [], {}, false],
    ['NO_COLOR: no colour', [], { NO_COLOR: '1' }, false],
    ['FORCE_COLOR=1: colour even when piped', [], { FORCE_COLOR: '1' }, true],
    ['NO_COLOR wins over FORCE_COLOR', [], { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['FORCE_COLOR=0: no colour', [], { FORCE_COLOR: '0' }, false],
    ['--color: colour even when piped', ['--color'], {}, true],
    ['--color wins over NO_COLOR', ['--color'], { NO_COLOR: '1' }, true],
    ['--no-color wins over FORCE_COLOR', ['--no-color'], { FORCE_COLOR: '1' }, false],
  ];
  for (const [what, flags, env, coloured] of colourCases) {
    it(what, async () => {
      const r = await runCli(['check', ...healthy.cliArgs, ...flags], env);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.includes(ESC), coloured, show(r));
      assert.equal(r.stderr, '', 'nothing on a piped stderr: no progress line');
      const plain = r.stdout.replace(/\u001b\[[0-9;]*m/g, '');
      assert.match(plain, /example\.org: federation OK/);
      assert.ok(!plain.includes(ESC), 'colour codes are the only escapes');
    });
  }

  it('several servers: names and --from-file together, one summary, the detail of each, exit 1 for the worst', async () => {
    const list = join(dir, 'names.txt');
    writeFileSync(list, `# servers to check\n${batchNames[2]}   # the third\n\n  ${batchNames[3]}\n`);
    const options = batch.cliArgs.slice(1);
    const r = await runCli(['check', batchNames[0]!, batchNames[1]!, '--from-file', list, '--concurrency', '2', ...options, '--junit', join(dir, 'batch.xml')]);
    assert.equal(r.code, 1, show(r));
    const text = r.stdout;
    assert.equal(text.split('\n').filter((l) => /^│ server\s+│ verdict/.test(l)).length, 1, 'one summary table');
    assert.match(text, /1 of 4 servers have problems/);
    for (const n of batchNames) assert.match(text, new RegExp(`^${n.replace(/\./g, '\\.')}$`, 'm'), `the detail of ${n}`);
    assert.equal(r.stderr, '');
    const xml = readFileSync(join(dir, 'batch.xml'), 'utf8');
    assert.equal(xml.match(/<testsuite /g)?.length, 4);
  });

  it('several servers --json: one report, servers in the order given, ok per server', async () => {
    const r = await runCli(['check', ...batchNames, ...batch.cliArgs.slice(1), '--json', '--concurrency', '3']);
    assert.equal(r.code, 1, show(r));
    const report = JSON.parse(r.stdout) as Report;
    assert.deepEqual(report.servers.map((s) => s.serverName), batchNames);
    assert.deepEqual(report.servers.map((s) => s.ok), [true, false, true, true]);
    assert.equal(report.ok, false);
  });

  it('a --from-file list with only comments and blank lines is "no server name" (exit 2)', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing here\n\n   # still nothing\n');
    const r = await runCli(['check', '--from-file', empty]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^fedcheck: no server name given/);
  });

  it('--save-evidence from check, then judge: the same JSON', async () => {
    const bundle = join(dir, 'check.bundle.json');
    const a = await runCli(['check', ...healthy.cliArgs, '--json', '--save-evidence', bundle]);
    assert.equal(a.code, 0, show(a));
    const b = await runCli(['judge', bundle, '--json']);
    assert.equal(b.code, 0, show(b));
    assert.equal(b.stdout, a.stdout);
  });
});
