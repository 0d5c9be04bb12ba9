/**
 * A few corpus behaviours through the real CLI (bin/fedcheck.js, pipes, no TTY), as support staff
 * would run it: `--timeout 3 --verbose --save-evidence`. The process must exit 0 or 1, the run
 * (the bundle's durationMs) end within the timeout + 1 s, no stack trace be printed, and neither
 * stdout (the report) nor stderr (the trace) carry a control character the servers sent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostileScenarios } from '../../src/lab/scenarios/hostile.js';
import { startHostileLab, type HostileDeployment, type HostileLab } from '../../src/lab/hostile/lab.js';
import { rawBehaviours } from './raw-behaviours.js';
import { CONTROL } from './harness.js';
import { runCli } from '../cli/run-cli.js';

const NAMES = ['drip-headers', 'dns-silent', 'tls-handshake-drip', 'escape-in-header', 'not-http', 'hostile-mserver-ansi', 'hostile-version-escapes', 'hostile-tls-san-escapes', 'hostile-dns-srv-target-escapes'];

function deployment(name: string): HostileDeployment {
  const raw = rawBehaviours.find((b) => b.name === name);
  if (raw) return raw.deploy();
  const s = hostileScenarios.find((x) => x.name === name);
  assert.ok(s, name);
  return { scenario: s };
}

describe('hostile servers through the CLI', { concurrency: 2 }, () => {
  const labs = new Map<string, HostileLab>();
  const dir = mkdtempSync(join(tmpdir(), 'fedcheck-hostile-cli-'));
  before(async () => {
    for (const n of NAMES) labs.set(n, await startHostileLab(deployment(n)));
  });
  after(async () => {
    await Promise.all([...labs.values()].map((l) => l.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  for (const name of NAMES) {
    // every behaviour as text; the escape-carrying ones in every format
    const formats = /escape|ansi/.test(name) ? [[], ['--json'], ['--markdown']] : [[]];
    for (const format of formats) {
      it(`${name} ${format.join(' ') || '(text)'}`, async () => {
        const lab = labs.get(name)!;
        const evidence = join(dir, `${name}${format.join('')}.json`);
        const r = await runCli(['check', ...lab.cliArgs, '--timeout', '3', '--verbose', '--save-evidence', evidence, ...format], {}, 30_000);
        assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
        // fedcheck's own run within the timeout + 1 s; the process (node start-up, rendering) on a
        // machine loaded by the other test files within a few seconds more
        const ran = (JSON.parse(readFileSync(evidence, 'utf8')) as { servers: Array<{ durationMs: number }> }).servers[0]!.durationMs;
        assert.ok(ran <= 3000 + 1000, `the run took ${ran} ms with --timeout 3`);
        assert.ok(r.ms < 3000 + 5000, `the process took ${r.ms} ms with --timeout 3`);
        assert.doesNotMatch(r.stderr, /internal error|^\s+at .+\(.+:\d+:\d+\)$/m, r.stderr.slice(-3000));
        for (const [stream, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
          const m = CONTROL.exec(text);
          assert.ok(!m, `${stream} carries U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} near ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 60), (m?.index ?? 0) + 20))}`);
        }
        if (format[0] === '--json') JSON.parse(r.stdout);
        assert.match(r.stdout, /example\.org/);
      });
    }
  }
});
