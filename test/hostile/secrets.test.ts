/**
 * Secrets (issue 8). fedcheck takes no credential yet: no option accepts a token, and nothing
 * reads one from the environment. This guards that state: with access tokens in the environment
 * under the names tools commonly use, a run through the real CLI — every output format, --verbose,
 * --save-evidence, --junit — must not contain them, and no request fedcheck sends may carry them.
 * When an authenticated probe is added, its token must come from an environment variable or a
 * file, and this test must then also pass the token to it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { homeserverHandler } from '../../src/lab/homeserver.js';
import { nodeHttp } from '../../src/lab/hostile/raw-host.js';
import { startHostileLab, type HostileLab } from '../../src/lab/hostile/lab.js';
import { runCli } from '../cli/run-cli.js';

const SECRET = 'syt_cXVpeGFuZA_hunter2SuperSecretTokenValue_1a2b3c';
const REFRESH = 'syr_cmVmcmVzaA_notToBeSeen_9z8y7x';
const OTHER = 'mat_masAccessToken0123456789abcdef';
const ENV: Record<string, string> = {
  FEDCHECK_ACCESS_TOKEN: SECRET,
  FEDCHECK_TOKEN: SECRET,
  MATRIX_ACCESS_TOKEN: SECRET,
  ACCESS_TOKEN: SECRET,
  SYNAPSE_ADMIN_TOKEN: SECRET,
  HOMESERVER_TOKEN: OTHER,
  MATRIX_REFRESH_TOKEN: REFRESH,
  AUTHORIZATION: `Bearer ${SECRET}`,
};
const SECRETS = [SECRET, REFRESH, OTHER, 'hunter2SuperSecret', 'cXVpeGFuZA', 'notToBeSeen', 'masAccessToken01'];

describe('secrets never leak', () => {
  let lab: HostileLab;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedcheck-secrets-'));
    const wk = homeserverHandler({ serverName: 'example.org', routes: { '/.well-known/matrix/server': { status: 200, body: { 'm.server': 'matrix.example.org:443' } } } });
    const hs = homeserverHandler({ serverName: 'example.org' });
    lab = await startHostileLab({
      scenario: { name: 'secrets', title: '', group: 'hostile', serverName: 'example.org', zone: { 'example.org': { A: ['127.0.0.2'] }, 'matrix.example.org': { A: ['127.0.0.3'] } }, hosts: [], expect: {} },
      raw: [
        { address: '127.0.0.2', port: 443, tls: { names: ['example.org'] }, onConnection: nodeHttp(wk) },
        { address: '127.0.0.3', port: 443, tls: { names: ['matrix.example.org'] }, onConnection: nodeHttp(hs) },
      ],
    });
  });
  after(async () => {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no option takes a credential', async () => {
    const help = await runCli(['check', '--help'], ENV);
    assert.equal(help.code, 0, help.stderr);
    const flags = [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!);
    assert.ok(flags.length > 5, help.stdout);
    for (const f of flags) assert.doesNotMatch(f, /token|password|secret|credential|auth|key/i, `a credential option exists (${f}): extend this test to pass it a token`);
  });

  for (const format of [[], ['--json'], ['--markdown']]) {
    it(`check ${format.join(' ') || '(text)'} --verbose --save-evidence --junit: the tokens appear nowhere`, async () => {
      const evidence = join(dir, `evidence${format.join('')}.json`);
      const junit = join(dir, `junit${format.join('')}.xml`);
      const r = await runCli(['check', ...lab.cliArgs, '--timeout', '5', '--verbose', '--save-evidence', evidence, '--junit', junit, ...format], ENV);
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr.slice(-2000)}`);
      assert.match(r.stdout, /example\.org/);
      const outputs: Record<string, string> = { stdout: r.stdout, stderr: r.stderr, evidence: readFileSync(evidence, 'utf8'), junit: readFileSync(junit, 'utf8') };
      for (const [name, text] of Object.entries(outputs)) {
        for (const s of SECRETS) assert.ok(!text.includes(s), `${name} contains ${s}`);
      }
      // nor does anything fedcheck sent carry them (headers or request targets)
      for (const host of lab.raw) {
        assert.ok(host.requests.length > 0);
        for (const q of host.requests) {
          const wire = `${q.method} ${q.target}\n${q.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}`;
          for (const s of SECRETS) assert.ok(!wire.includes(s), `sent to ${host.address}: ${wire}`);
          assert.ok(!q.headers.some(([k]) => k.toLowerCase() === 'authorization'), wire);
        }
      }
    });
  }
});
