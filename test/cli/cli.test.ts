/**
 * The CLI as users and CI jobs run it: `node bin/fedcheck.js …` spawned with pipes (no TTY).
 * Exit codes, one-line errors, every output format from `demo` and `judge`, colour rules,
 * the --verbose trace, GitHub Actions annotations, and judge reproducing a saved run exactly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Report } from '../../src/core/types.js';
import { childrenNamed, parseXml } from '../helpers/xml.js';
import { ROOT, runCli, type CliResult } from './run-cli.js';

const ESC = '\u001b';
const dir = mkdtempSync(join(tmpdir(), 'fedcheck-cli-test-'));
const f = (name: string) => join(dir, name);
after(() => rmSync(dir, { recursive: true, force: true }));

const validate = (() => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'docs/report.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormatsModule.default(ajv);
  return ajv.compile(schema);
})();

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 3000)}\n--- stderr\n${r.stderr.slice(0, 3000)}`;
}

describe('invalid input: exit 2, exactly one line on stderr, no stack trace, nothing on stdout', { concurrency: 6 }, () => {
  const notABundle = f('not-a-bundle.json');
  writeFileSync(notABundle, '{"hello": "world"}\n');
  const cases: Array<[string, string[], RegExp]> = [
    ['a name with a space', ['check', 'bad name!'], /invalid server name "bad name!"/],
    ['an empty name', ['check', ''], /invalid server name "": the server name is empty/],
    ['a port out of range', ['check', 'example.com:99999'], /port 99999 is out of range/],
    ['a timeout that is not a number', ['check', '--timeout', 'abc', 'x'], /--timeout "abc"/],
    ['an unknown option', ['check', '--bogus', 'x'], /unknown option '--bogus'/],
    ['no server name', ['check'], /no server name given/],
    ['one bad name among good ones', ['check', 'a.example', 'b..example', 'c.example'], /invalid server name "b\.\.example"/],
    ['--json with --markdown', ['check', '--json', '--markdown', 'x'], /cannot be used with/],
    ['a malformed --resolve', ['check', '--resolve', 'garbage', 'x'], /--resolve/],
    ['a malformed --resolver', ['check', '--resolver', 'not-an-ip', 'x'], /--resolver "not-an-ip"/],
    ['--concurrency 0', ['check', '--concurrency', '0', 'x'], /--concurrency "0"/],
    ['an unwritable --junit file', ['check', 'x', '--junit', '/nonexistent-dir/report.xml'], /--junit \/nonexistent-dir\/report\.xml: cannot write it/],
    ['a missing --from-file', ['check', '--from-file', '/nonexistent-dir/names.txt'], /--from-file .*cannot read it/],
    ['an unknown demo scenario', ['demo', 'no-such-scenario'], /no lab scenario named "no-such-scenario"/],
    ['judge on a missing file', ['judge', '/nonexistent-dir/bundle.json'], /not a readable evidence bundle \(ENOENT\)/],
    ['judge on JSON that is not a bundle', ['judge', notABundle], /not a fedcheck evidence bundle/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stdout, '', show(r));
      assert.ok(r.stderr.endsWith('\n'), show(r));
      const lines = r.stderr.slice(0, -1).split('\n');
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0]!, /^fedcheck: /);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+|Error:|internal error/, show(r));
    });
  }
});

describe('--version and --help', { concurrency: 2 }, () => {
  it('--version prints the package version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
    assert.equal(r.stderr, '');
  });
  it('check --help lists every option and exits 0', async () => {
    const r = await runCli(['check', '--help']);
    assert.equal(r.code, 0);
    for (const o of ['--json', '--junit', '--markdown', '--full', '--color', '--no-color', '--verbose', '--save-evidence', '--from-file', '--concurrency', '--resolver', '--resolve', '--connect-to', '--cacert', '--backend', '--timeout', '--ipv4', '--ipv6']) {
      assert.ok(r.stdout.includes(o), `check --help mentions ${o}`);
    }
  });
});

describe('demo and judge', { concurrency: 4 }, () => {
  let healthy: CliResult;
  let healthyJudged: CliResult;
  let broken: CliResult;
  let brokenJudgedMd: CliResult;
  let brokenMd: CliResult;

  before(async () => {
    // Independent runs at once: each demo brings up its own lab on loopback.
    [healthy, broken, brokenMd] = await Promise.all([
      runCli(['demo', '--json', '--junit', f('healthy.xml'), '--save-evidence', f('healthy.bundle.json')]),
      runCli(['demo', 'no-records', '--junit', f('broken.xml'), '--save-evidence', f('broken.bundle.json')]),
      runCli(['demo', 'srv-target-dot', '--markdown', '--save-evidence', f('dot.bundle.json')]),
    ]);
    [healthyJudged, brokenJudgedMd] = await Promise.all([
      runCli(['judge', f('healthy.bundle.json'), '--json', '--junit', f('healthy-judged.xml')]),
      runCli(['judge', f('dot.bundle.json'), '--markdown']),
    ]);
  });

  it('demo --json: a healthy lab exits 0, its report validates against the schema, nothing on stderr', () => {
    assert.equal(healthy.code, 0, show(healthy));
    const report = JSON.parse(healthy.stdout) as Report;
    assert.equal(validate(report), true, JSON.stringify(validate.errors));
    assert.equal(report.ok, true);
    assert.equal(report.servers[0]!.serverName, 'example.org');
    assert.equal(healthy.stderr, '', 'no banner and no progress with --json when stderr is not a terminal');
  });

  it('demo --junit: one testcase per finding, in order, with failures where checks failed', () => {
    const report = JSON.parse(healthy.stdout) as Report;
    const root = parseXml(readFileSync(f('healthy.xml'), 'utf8'));
    const suites = childrenNamed(root, 'testsuite');
    assert.equal(suites.length, 1);
    const cases = childrenNamed(suites[0]!, 'testcase');
    const checks = report.servers[0]!.checks;
    assert.equal(cases.length, checks.length);
    assert.deepEqual(cases.map((c) => c.attrs.name), checks.map((c) => (c.target ? `${c.id} @ ${c.target}` : c.id)));
    assert.equal(root.attrs.tests, String(checks.length));

    const brokenRoot = parseXml(readFileSync(f('broken.xml'), 'utf8'));
    const brokenCases = childrenNamed(childrenNamed(brokenRoot, 'testsuite')[0]!, 'testcase');
    const dns = brokenCases.find((c) => c.attrs.name === 'dns')!;
    assert.equal(childrenNamed(dns, 'failure').length, 1, 'the dns failure is a JUnit failure');
    assert.ok(Number(brokenRoot.attrs.failures) >= 1);
  });

  it('judge reproduces the run that saved the evidence: identical JSON, identical JUnit', () => {
    assert.equal(healthyJudged.code, healthy.code);
    assert.equal(healthyJudged.stdout, healthy.stdout);
    assert.equal(readFileSync(f('healthy-judged.xml'), 'utf8'), readFileSync(f('healthy.xml'), 'utf8'));
  });

  it('judge reproduces a broken run too: same Markdown, same exit code 1', () => {
    assert.equal(brokenMd.code, 1, show(brokenMd));
    assert.equal(brokenJudgedMd.code, 1);
    assert.equal(brokenJudgedMd.stdout, brokenMd.stdout);
    assert.match(brokenMd.stdout, /^# fedcheck report/);
    assert.match(brokenMd.stdout, /\*\*How to fix\*\*/);
  });

  it('a broken scenario exits 1; piped text has no escape codes and carries every failure hint', () => {
    assert.equal(broken.code, 1, show(broken));
    assert.ok(!broken.stdout.includes(ESC), 'no escape codes on piped stdout');
    assert.ok(!broken.stderr.includes(ESC), 'no escape codes (and no progress line) on piped stderr');
    assert.match(broken.stdout, /✖ FAIL │ dns/);
    assert.match(broken.stdout, /✖ dns → how to fix: /);
    assert.match(broken.stdout, /^Discovery$/m);
    assert.match(broken.stderr, /^fedcheck demo: lab scenario "no-records"/);
  });
});

describe('demo --verbose', () => {
  it('traces DNS answers with TTL, connections with certificate details, request lines and statuses on stderr only', async () => {
    const r = await runCli(['demo', '--verbose']);
    assert.equal(r.code, 0, show(r));
    const t = r.stderr;
    const line = (re: RegExp) => assert.match(t, re, t.slice(0, 4000));
    line(/^\* \+\d+\.\d{3}s \[example\.org\] DNS A example\.org → 127\.0\.0\.2 \(TTL 300\) \(\d+ ms\)$/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] DNS SRV _matrix-fed\._tcp\.example\.org → nxdomain/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] TCP connected to 127\.0\.0\.3:\d+ \(\d+ ms\)$/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] TLS handshake with 127\.0\.0\.3:\d+ done \(\d+ ms\): TLSv1\.3, \S+, ALPN http\/1\.1, SNI matrix\.example\.org$/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] {3}subject: CN=matrix\.example\.org/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] {3}issuer: {2}CN=fedcheck lab intermediate CA/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] {3}SANs: {4}DNS:matrix\.example\.org$/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] {3}valid: {3}\d{4}-\d\d-\d\dT\S+ → \d{4}-\d\d-\d\dT\S+ \(expires in \d+ days\)$/m);
    line(/^\* \+\d+\.\d{3}s \[example\.org\] {3}chain: {3}\d certificates sent; trusted$/m);
    line(/^> \+\d+\.\d{3}s \[example\.org\] GET \/\.well-known\/matrix\/server HTTP\/1\.1 · Host: example\.org · to 127\.0\.0\.2:\d+$/m);
    line(/^> \+\d+\.\d{3}s \[example\.org\] GET \/_matrix\/federation\/v1\/version HTTP\/1\.1 · Host: matrix\.example\.org:443 · to 127\.0\.0\.3:\d+$/m);
    line(/^< \+\d+\.\d{3}s \[example\.org\] HTTP\/1\.1 200 · GET \/_matrix\/federation\/v1\/version from 127\.0\.0\.3:\d+, \d+ bytes \(\d+ ms\)$/m);
    assert.ok(!t.includes(ESC));
    assert.doesNotMatch(r.stdout, /^[*<>!] \+/m, 'the trace stays off stdout');
    assert.match(r.stdout, /example\.org: federation OK/);
  });
});

describe('GitHub Actions', () => {
  it('annotations on stderr, the JSON on stdout untouched, the Markdown report in the job summary', async () => {
    const summary = f('step-summary.md');
    writeFileSync(summary, '');
    const bundle = f('gh.bundle.json');
    const gh = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const r = await runCli(['demo', 'no-records', '--json', '--save-evidence', bundle], gh);
    assert.equal(r.code, 1, show(r));
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(validate(report), true);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('::error '));
    assert.equal(errors.length, report.servers[0]!.checks.filter((c) => c.status === 'fail').length);
    assert.ok(errors.some((l) => l.startsWith('::error title=fedcheck dns::nonexistent.example.org: ')), r.stderr);
    assert.match(readFileSync(summary, 'utf8'), /^# fedcheck report/);

    // judge under Actions: the same annotations, whatever the format
    const j = await runCli(['judge', bundle, '--markdown'], gh);
    assert.equal(j.code, 1, show(j));
    assert.match(j.stdout, /^# fedcheck report/);
    assert.deepEqual(j.stderr.split('\n').filter((l) => l.startsWith('::error ')), errors);
    // and nothing of the kind outside Actions
    const plain = await runCli(['judge', bundle]);
    assert.doesNotMatch(plain.stderr + plain.stdout, /^::(error|warning) /m);
  });
});
