/**
 * Nothing is loaded at start-up that the command does not use (docs/performance.md): the module
 * graph of `--version`, `check --help` and a real `check` run, recorded by a module hook in the
 * child process (module-log.ts) — structural, not timed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, type LabDeployment } from '../../src/lab/deployment.js';
import { findScenario } from '../../src/lab/scenarios/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'fedcheck.js');
const HOOK = fileURLToPath(new URL('./module-log.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'fedcheck-modules-'));
let lab: LabDeployment;
before(async () => {
  lab = await startLab(findScenario('healthy')!);
});
after(async () => {
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Run the CLI (asynchronously: the lab answers from this process) and list what it loaded, relative to the project root. */
async function loaded(args: string[]): Promise<{ modules: string[]; code: number | null; stdout: string }> {
  const log = join(dir, `modules-${n++}.txt`);
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, ['--import', HOOK, BIN, ...args], { env: { ...process.env, FEDCHECK_MODULE_LOG: log, FEDCHECK_LOOPBACK_ONLY: '1', NO_COLOR: '1' }, maxBuffer: 16 << 20 }, (err, out) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out });
    });
  });
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const modules = [...new Set(lines.filter((l) => !l.startsWith('node:')).map((l) => {
    const p = l.startsWith('cjs:') ? l.slice(4) : l.startsWith('file://') ? fileURLToPath(l) : l;
    return p.startsWith(ROOT) ? p.slice(ROOT.length) : p;
  }))].sort();
  return { modules, code, stdout };
}

const packageOf = (m: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1] ?? null;

for (const args of [['--version'], ['check', '--help']]) {
  test(`fedcheck ${args.join(' ')} loads only the CLI skeleton (commander, version, options)`, async () => {
    const { modules, code } = await loaded(args);
    assert.equal(code, 0);
    const ours = modules.filter((m) => !packageOf(m));
    assert.deepEqual(ours, ['bin/fedcheck.js', 'dist/src/cli/main.js', 'dist/src/run/options.js', 'dist/src/version.js'], `project modules loaded:\n${ours.join('\n')}`);
    const packages = [...new Set(modules.map(packageOf).filter(Boolean))];
    assert.deepEqual(packages, ['commander'], `packages loaded: ${packages.join(', ')}`);
  });
}

test('fedcheck check <name> does not load the lab, node-forge, dns2 or the backend stand-in', async () => {
  const { modules, stdout } = await loaded(['check', '--json', ...lab.cliArgs]);
  const report = JSON.parse(stdout) as { servers: Array<{ serverName: string; ok: boolean }> };
  assert.equal(report.servers[0]?.serverName, lab.serverName, 'the check ran');
  assert.ok(modules.some((m) => m.endsWith('dist/src/probes/resolve.js')), 'the module log saw the probes');
  const forbidden = modules.filter((m) => /dist\/src\/lab\/|dist\/src\/backend\/|node_modules\/(node-forge|dns2)\//.test(m));
  assert.deepEqual(forbidden, []);
});
