import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Finding, Report, ServerReport } from '../../src/core/types.js';
import { groupByStage, stageOf, STAGE_ORDER } from '../../src/report/stages.js';
import { paint, shouldColour } from '../../src/report/colour.js';
import { clean, displayWidth, wrapText } from '../../src/report/clean.js';
import { renderText } from '../../src/report/text.js';
import { escapeRiskyJson, renderJson, renderJsonChunks, writeJson } from '../../src/report/json.js';
import { PassThrough } from 'node:stream';
import { renderJunit } from '../../src/report/junit.js';
import { defaultRedact, escapeMarkdown, renderMarkdown } from '../../src/report/markdown.js';
import { escapeData, escapeProperty, renderGithubAnnotations } from '../../src/report/github.js';
import { childrenNamed, parseXml } from '../helpers/xml.js';

const ROOT = new URL('../../../', import.meta.url);
const ESC = '\u001b';
const HOSTILE_SUMMARY = 'key response names \x1b[31mevil.example\x1b[0m\r\nFAKE: all checks passed \u009b2J';
const TOKEN = 'syt_YWxpY2U_xKzQwErTyUiOpAsDf_1a2B3c';

// ---------------------------------------------------------------------------------------------
// The sample report (also written to fixtures/sample-report.json for other tests)
// ---------------------------------------------------------------------------------------------

function sampleReport(): Report {
  const broken: ServerReport = {
    serverName: 'example.com',
    ok: false,
    resolution: {
      method: 'well-known-srv',
      delegatedServerName: 'matrix.example.com',
      hostHeader: 'matrix.example.com',
      tlsServerName: 'matrix.example.com',
      certificateName: 'matrix.example.com',
      targets: [{ host: 'srv-target.example.net', port: 8448, addresses: ['::1', '192.0.2.10'] }],
    },
    checks: [
      { id: 'server-name', status: 'pass', summary: 'example.com is a valid server name' },
      { id: 'well-known', status: 'pass', summary: 'delegates to matrix.example.com', details: { mServer: 'matrix.example.com' } },
      {
        id: 'srv',
        status: 'pass',
        summary: '_matrix-fed._tcp.matrix.example.com → srv-target.example.net:8448',
        details: { records: [{ priority: 10, weight: 5, port: 8448, name: 'srv-target.example.net' }] },
      },
      {
        id: 'dns',
        status: 'warn',
        summary: 'srv-target.example.net has an AAAA record pointing at ::1 (loopback)',
        hint: 'Delete the AAAA record of srv-target.example.net or point it at the public IPv6 address of the server.',
      },
      {
        id: 'tls',
        status: 'fail',
        target: '[::1]:8448',
        summary: 'connection refused',
        hint: 'Nothing listens on [::1]:8448 from the outside: other homeservers try IPv6 first and give up.',
      },
      { id: 'federation-version', status: 'skip', target: '[::1]:8448', summary: 'not run: the TLS handshake failed' },
      {
        id: 'tls',
        status: 'pass',
        target: '192.0.2.10:8448',
        summary: 'TLSv1.3, certificate valid for matrix.example.com until 2031-01-01',
      },
      { id: 'federation-version', status: 'pass', target: '192.0.2.10:8448', summary: 'Synapse 1.120.0' },
      {
        id: 'server-keys',
        status: 'fail',
        target: '192.0.2.10:8448',
        summary: HOSTILE_SUMMARY,
        hint: 'Set `server_name` | in homeserver.yaml\r\nto example.com and restart.\x1b]0;pwned\x07',
        details: { serverName: 'evil.example', raw: '\x1b[31m' },
      },
      { id: 'health', status: 'info', target: '192.0.2.10:8448', summary: '/health answered 200 OK' },
      { id: 'uri-canonicalization', status: 'pass', summary: 'request targets reach the backend unchanged' },
      {
        id: 'forwarded-headers',
        status: 'warn',
        summary: `backend received Authorization: Bearer ${TOKEN} from the proxy`,
        hint: `The proxy logs access_token=${TOKEN}; strip credentials from logs.`,
      },
      {
        id: 'client-well-known',
        status: 'warn',
        summary: '/.well-known/matrix/client has no Access-Control-Allow-Origin header',
        hint: 'Add "Access-Control-Allow-Origin: *" to /.well-known/matrix/client.',
      },
      { id: 'cors', status: 'pass', summary: 'CORS headers allow browser clients' },
      { id: 'compatibility', status: 'info', summary: 'every implementation resolves this server the same way' },
      {
        id: 'federation',
        status: 'fail',
        summary: '1 of 2 addresses works; servers that try IPv6 first cannot reach example.com',
        hint: 'Fix the tls finding for [::1]:8448.',
      },
    ],
    durationMs: 1834,
  };
  const healthy: ServerReport = {
    serverName: 'xn--bcher-kva.example',
    input: 'bücher.example',
    ok: true,
    resolution: {
      method: 'well-known-ip-literal',
      delegatedServerName: '[2001:db8::20]:8448',
      hostHeader: '[2001:db8::20]:8448',
      tlsServerName: null,
      certificateName: '2001:db8::20',
      targets: [{ host: '2001:db8::20', port: 8448, addresses: ['2001:db8::20'] }],
    },
    checks: [
      { id: 'server-name', status: 'pass', summary: 'converted from Unicode to xn--bcher-kva.example' },
      { id: 'well-known', status: 'pass', summary: 'delegates to the IP literal [2001:db8::20]:8448' },
      { id: 'srv', status: 'skip', summary: 'not looked up: the delegated name is an IP literal' },
      { id: 'tls', status: 'pass', target: '[2001:db8::20]:8448', summary: 'certificate covers IP 2001:db8::20' },
      {
        id: 'server-keys',
        status: 'warn',
        target: '[2001:db8::20]:8448',
        summary: 'keys expire in 2 hours (valid_until_ts)',
        hint: 'Nothing to do if the homeserver refreshes keys; otherwise check its clock.',
      },
      { id: 'future-check', status: 'info', summary: 'a check this version of the renderers does not know' } as unknown as Finding,
    ],
    durationMs: 412,
  };
  return {
    schemaVersion: 1,
    ok: false,
    tool: { name: 'fedcheck', version: '0.1.0' },
    generatedAt: '2025-01-31T12:00:00.000Z',
    servers: [broken, healthy],
  };
}

const allFindings = (r: Report): Finding[] => r.servers.flatMap((s) => s.checks);

function renderAll(r: Report): Record<string, string> {
  return {
    text: renderText(r, { colour: false }),
    textColour: renderText(r, { colour: true, width: 80 }),
    json: renderJson(r),
    junit: renderJunit(r),
    markdown: renderMarkdown(r),
    github: renderGithubAnnotations(r),
  };
}


function loadSchemaValidator() {
  const schema = JSON.parse(readFileSync(new URL('docs/report.schema.json', ROOT), 'utf8')) as object;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormatsModule.default(ajv);
  return ajv.compile(schema);
}

// ---------------------------------------------------------------------------------------------

describe('stages', () => {
  test('every contract check id maps to its stage; unknown ids to other', () => {
    const expected: Record<string, string> = {
      'server-name': 'discovery',
      'well-known': 'discovery',
      srv: 'discovery',
      dns: 'discovery',
      tls: 'per-address',
      'federation-version': 'per-address',
      'server-keys': 'per-address',
      health: 'per-address',
      'uri-canonicalization': 'proxy',
      'forwarded-headers': 'proxy',
      'upload-limit': 'proxy',
      'admin-exposure': 'proxy',
      'client-well-known': 'client',
      'client-versions': 'client',
      cors: 'client',
      'support-well-known': 'client',
      compatibility: 'summary',
      federation: 'summary',
    };
    for (const [id, stage] of Object.entries(expected)) assert.equal(stageOf(id), stage, id);
    for (const id of ['future-check', '', 'constructor', '__proto__', 'toString']) assert.equal(stageOf(id), 'other', id);
  });

  test('groupByStage orders stages and splits per-address findings by target', () => {
    const groups = groupByStage(sampleReport().servers[0]!.checks);
    assert.deepEqual(
      groups.map((g) => [g.stage, g.target ?? null, g.findings.length]),
      [
        ['discovery', null, 4],
        ['per-address', '[::1]:8448', 2],
        ['per-address', '192.0.2.10:8448', 4],
        ['proxy', null, 2],
        ['client', null, 2],
        ['summary', null, 2],
      ],
    );
    const second = groupByStage(sampleReport().servers[1]!.checks);
    assert.equal(second.at(-1)!.stage, 'other');
    assert.deepEqual(STAGE_ORDER, ['discovery', 'per-address', 'proxy', 'client', 'summary', 'other']);
    // untargeted per-address findings get their own group
    const g = groupByStage([
      { id: 'health', status: 'pass', target: '192.0.2.1:443', summary: 'a' },
      { id: 'health', status: 'pass', summary: 'b' },
    ]);
    assert.deepEqual(
      g.map((x) => x.target ?? null),
      [null, '192.0.2.1:443'],
    );
  });
});

describe('colour', () => {
  test('shouldColour: flag, then NO_COLOR, then FORCE_COLOR, then isTTY', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    assert.equal(shouldColour(tty, {}), true);
    assert.equal(shouldColour(pipe, {}), false);
    assert.equal(shouldColour({}, {}), false);
    assert.equal(shouldColour(tty, { NO_COLOR: '1' }), false);
    assert.equal(shouldColour(tty, { NO_COLOR: '' }), true, 'empty NO_COLOR is ignored');
    assert.equal(shouldColour(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(shouldColour(pipe, { FORCE_COLOR: '3' }), true);
    assert.equal(shouldColour(pipe, { FORCE_COLOR: 'true' }), true);
    assert.equal(shouldColour(tty, { FORCE_COLOR: '0' }), false);
    assert.equal(shouldColour(tty, { FORCE_COLOR: 'false' }), false);
    assert.equal(shouldColour(pipe, { FORCE_COLOR: '' }), false);
    assert.equal(shouldColour(pipe, { NO_COLOR: 'x', FORCE_COLOR: '1' }), false, 'NO_COLOR beats FORCE_COLOR');
    assert.equal(shouldColour(pipe, { NO_COLOR: 'x' }, true), true, '--color wins');
    assert.equal(shouldColour(tty, { FORCE_COLOR: '1' }, false), false, '--no-color wins');
  });

  test('paint is the identity when disabled and wraps in SGR codes when enabled', () => {
    const off = paint(false);
    for (const f of [off.green, off.red, off.yellow, off.dim, off.bold, off.cyan]) assert.equal(f('x y'), 'x y');
    const on = paint(true);
    assert.equal(on.red('x'), '\x1b[31mx\x1b[39m');
    assert.equal(on.green('x'), '\x1b[32mx\x1b[39m');
    assert.equal(on.yellow('x'), '\x1b[33mx\x1b[39m');
    assert.equal(on.cyan('x'), '\x1b[36mx\x1b[39m');
    assert.equal(on.bold('x'), '\x1b[1mx\x1b[22m');
    assert.equal(on.dim('x'), '\x1b[2mx\x1b[22m');
  });
});

describe('clean', () => {
  test('removes ESC, C0, C1 and bidi controls; line breaks become spaces', () => {
    assert.equal(clean('a\x1b[31mb\x1b[0m'), 'a[31mb[0m');
    assert.equal(clean('a\r\nb\rc\nd\u2028e'), 'a b c d e');
    assert.equal(clean('x\u009b2Jy\u0085z\u0000\u0007\u007f'), 'x2Jy z');
    assert.equal(clean('abc\u202Edef\u2066'), 'abcdef');
    assert.equal(clean('tab\there'), 'tab here');
    assert.equal(clean('\ud800x\udc00'), '\ufffdx\ufffd');
    assert.equal(clean('😀 ok'), '😀 ok');
    assert.equal(clean(undefined), '');
    assert.equal(clean(null), '');
    assert.equal(clean(8448), '8448');
  });

  test('keepNewlines keeps line breaks as \\n only', () => {
    assert.equal(clean('a\r\nb\rc\x1b\n', { keepNewlines: true }), 'a\nb\nc\n');
  });

  test('wrapText wraps at word boundaries and breaks over-long words without losing text', () => {
    assert.deepEqual(wrapText('one two three four', 9), ['one two', 'three', 'four']);
    const long = 'x'.repeat(25);
    const lines = wrapText(`a ${long} b`, 10);
    assert.ok(lines.every((l) => displayWidth(l) <= 10), JSON.stringify(lines));
    assert.equal(lines.join('').replaceAll(' ', ''), `a${long}b`);
    assert.deepEqual(wrapText('p1\n\np2', 10), ['p1', '', 'p2']);
    assert.equal(displayWidth('漢字'), 4);
  });
});

describe('text renderer', () => {
  const report = sampleReport();

  test('without colour: no escape codes at all, and the expected content', () => {
    const out = renderText(report, { colour: false });
    assert.ok(!out.includes(ESC), 'no ESC in colourless output');
    assert.ok(!out.includes('\r'));
    // summary table first for several servers
    const firstServerHeader = out.indexOf('\nexample.com\n');
    assert.ok(out.indexOf('verdict') > 0 && out.indexOf('verdict') < firstServerHeader, 'summary table comes first');
    // header with input conversion
    assert.ok(out.includes('bücher.example → xn--bcher-kva.example'));
    // resolution block
    assert.ok(out.includes('/.well-known/matrix/server delegation, then SRV _matrix-fed._tcp (well-known-srv)'));
    assert.ok(out.includes('matrix.example.com'));
    assert.ok(out.includes('none (IP certificate)'));
    assert.ok(out.includes('1. srv-target.example.net:8448 → ::1, 192.0.2.10'));
    assert.ok(out.includes('1. [2001:db8::20]:8448 → 2001:db8::20'));
    // stage tables and badges
    for (const s of ['Discovery', 'Per address: [::1]:8448', 'Per address: 192.0.2.10:8448', 'Reverse proxy', 'Clients', 'Summary', 'Other checks'])
      assert.ok(out.includes(s), s);
    for (const b of ['✔ PASS', '✖ FAIL', '! WARN', '– SKIP', 'i INFO']) assert.ok(out.includes(b), b);
    assert.ok(out.includes('future-check'));
    // hints of non-passing findings
    assert.ok(out.includes('✖ tls @ [::1]:8448 → how to fix: Nothing listens'));
    assert.ok(out.includes('! dns → how to fix:'));
    // verdicts
    assert.ok(out.includes('example.com: 3 problems, 3 warnings'));
    assert.ok(out.includes('xn--bcher-kva.example: federation OK (1 warning)'));
  });

  test('with colour: escape codes present; plain text identical once they are removed', () => {
    const coloured = renderText(report, { colour: true });
    assert.ok(coloured.includes('\x1b[31m'));
    assert.ok(coloured.includes('\x1b[32m'));
    // eslint-disable-next-line no-control-regex
    const stripped = coloured.replace(/\x1b\[[0-9;]*m/g, '');
    assert.equal(stripped, renderText(report, { colour: false }));
  });

  test('fits in 80 columns', () => {
    for (const colour of [false, true]) {
      // eslint-disable-next-line no-control-regex
      const out = renderText(report, { colour, width: 80 }).replace(/\x1b\[[0-9;]*m/g, '');
      for (const line of out.split('\n')) assert.ok([...line].length <= 80, `too wide (${[...line].length}): ${line}`);
    }
    // nothing is truncated: the long hint survives wrapping
    const narrow = renderText(report, { colour: false, width: 80 });
    assert.ok(!narrow.includes('…'));
    assert.ok(narrow.replace(/\s+/g, ' ').includes('other homeservers try IPv6 first and give up.'));
  });

  test('a report without resolution or checks still renders', () => {
    const r: Report = {
      ...report,
      servers: [{ serverName: 'broken.example', ok: false, resolution: null, checks: [] }],
    };
    const out = renderText(r, { colour: false });
    assert.ok(out.includes('resolution could not complete'));
    assert.ok(out.includes('no checks ran'));
    assert.ok(out.includes('broken.example: federation NOT OK'));
  });
});

describe('hostile text', () => {
  test('is neutralised in every format', () => {
    const outputs = renderAll(sampleReport());
    for (const [name, out] of Object.entries(outputs)) {
      if (name !== 'textColour') assert.ok(!out.includes(ESC), `${name} contains ESC`);
      assert.ok(!out.includes('\r'), `${name} contains CR`);
      assert.ok(!out.includes('\u009b'), `${name} contains a C1 CSI`);
      assert.ok(!out.includes('\x07'), `${name} contains BEL`);
    }
    // the only ESC in coloured text are our own SGR sequences
    // eslint-disable-next-line no-control-regex
    assert.ok(!outputs.textColour!.replace(/\x1b\[[0-9;]*m/g, '').includes(ESC));
    assert.ok(!outputs.textColour!.includes('\x1b[31mevil'));
    // the forged line never starts a line of its own in line-oriented formats
    for (const name of ['markdown', 'github'] as const) {
      for (const line of outputs[name]!.split('\n')) assert.ok(!line.startsWith('FAKE'), `${name}: ${line}`);
    }
    // JSON keeps the data, escaped
    assert.ok(outputs.json!.includes('\\u001b[31mevil.example'));
    assert.ok(outputs.json!.includes('\\r\\nFAKE'));
    assert.ok(outputs.json!.includes('\\u009b2J'));
  });
});

describe('JSON renderer and schema', () => {
  const validate = loadSchemaValidator();

  test('round-trips and ends with a newline', () => {
    const report = sampleReport();
    const out = renderJson(report);
    assert.ok(out.endsWith('}\n'));
    assert.ok(out.startsWith('{\n  "schemaVersion": 1,'));
    assert.deepEqual(JSON.parse(out), report);
  });

  test('written piece by piece, it is JSON.stringify(report, null, 2) exactly', async () => {
    const reference = (r: unknown) => escapeRiskyJson(JSON.stringify(r, null, 2)) + '\n';
    const one = sampleReport();
    const many: Report = { ...one, servers: [...one.servers, ...one.servers, { ...one.servers[0]!, serverName: 'bidi\u202e.example', checks: [] }] };
    const none: Report = { ...one, servers: [] };
    for (const r of [one, many, none]) {
      assert.equal(renderJson(r), reference(r));
      // one piece per server between the head and the tail
      if (r.servers.length > 0) assert.equal([...renderJsonChunks(r)].length, r.servers.length + 1);
      // through a stream that applies back-pressure
      const sink = new PassThrough({ highWaterMark: 16 });
      const got: Buffer[] = [];
      sink.on('data', (d: Buffer) => got.push(d));
      await writeJson(r, sink);
      assert.equal(Buffer.concat(got).toString('utf8'), reference(r));
    }
    assert.ok(renderJson(many).includes('bidi\\u202e.example'));
  });

  test('the sample report validates; broken reports do not', () => {
    const ok = JSON.parse(renderJson(sampleReport())) as Report;
    assert.equal(validate(ok), true, JSON.stringify(validate.errors));

    const mutations: Array<[string, (r: any) => void]> = [
      ['bad status', (r) => (r.servers[0].checks[0].status = 'passed')],
      ['bad id', (r) => (r.servers[0].checks[0].id = 'Bad_Id')],
      ['unknown method', (r) => (r.servers[0].resolution.method = 'guess')],
      ['schemaVersion 2', (r) => (r.schemaVersion = 2)],
      ['extra finding property', (r) => (r.servers[0].checks[0].extra = 1)],
      ['extra report property', (r) => (r.extra = 1)],
      ['bad target', (r) => (r.servers[0].checks[4].target = '::1:8448')],
      ['missing summary', (r) => delete r.servers[0].checks[0].summary],
      ['port out of range', (r) => (r.servers[0].resolution.targets[0].port = 70000)],
      ['address not an IP', (r) => (r.servers[0].resolution.targets[0].addresses[0] = 'example.com')],
      ['bad date', (r) => (r.generatedAt = 'yesterday')],
      ['resolution missing', (r) => delete r.servers[0].resolution],
    ];
    for (const [what, mutate] of mutations) {
      const r = JSON.parse(renderJson(sampleReport()));
      mutate(r);
      assert.equal(validate(r), false, `${what} should not validate`);
    }

    const allowed: Array<[string, (r: any) => void]> = [
      ['new check id', (r) => (r.servers[0].checks[0].id = 'brand-new-check2')],
      ['anything in details', (r) => (r.servers[0].checks[0].details = { a: { b: [1, null] }, 'x y': true })],
      ['null resolution', (r) => (r.servers[0].resolution = null)],
      ['hostname target', (r) => (r.servers[0].checks[4].target = 'backend.internal:8008')],
      ['zoned IPv6 target', (r) => (r.servers[0].checks[4].target = '[fe80::1%eth0]:8448')],
    ];
    for (const [what, mutate] of allowed) {
      const r = JSON.parse(renderJson(sampleReport()));
      mutate(r);
      assert.equal(validate(r), true, `${what} should validate: ${JSON.stringify(validate.errors)}`);
    }
  });

  test('every property of the schema has a description', () => {
    const schema = JSON.parse(readFileSync(new URL('docs/report.schema.json', ROOT), 'utf8'));
    const missing: string[] = [];
    const walk = (node: any, path: string) => {
      if (!node || typeof node !== 'object') return;
      if (node.properties) {
        for (const [k, v] of Object.entries<any>(node.properties)) {
          if (typeof v.description !== 'string' || v.description === '') missing.push(`${path}.${k}`);
          walk(v, `${path}.${k}`);
        }
      }
      for (const key of ['$defs', 'items']) if (node[key]) walk(key === '$defs' ? { properties: node[key] } : node[key], `${path}/${key}`);
    };
    walk(schema, '#');
    assert.deepEqual(missing, []);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  });

  test('fixtures/sample-report.json is the sample and validates', () => {
    const fixture = JSON.parse(readFileSync(new URL('fixtures/sample-report.json', ROOT), 'utf8'));
    assert.deepEqual(fixture, JSON.parse(renderJson(sampleReport())));
    assert.equal(validate(fixture), true);
  });
});

describe('JUnit renderer', () => {
  test('is well-formed, with one testcase per finding and the right counts', () => {
    const report = sampleReport();
    const root = parseXml(renderJunit(report));
    assert.equal(root.name, 'testsuites');
    assert.equal(root.attrs.name, 'fedcheck');
    const findings = allFindings(report);
    assert.equal(root.attrs.tests, String(findings.length));
    assert.equal(root.attrs.failures, String(findings.filter((f) => f.status === 'fail').length));
    assert.equal(root.attrs.skipped, String(findings.filter((f) => f.status === 'skip').length));

    const suites = childrenNamed(root, 'testsuite');
    assert.equal(suites.length, 2);
    report.servers.forEach((server, i) => {
      const suite = suites[i]!;
      assert.equal(suite.attrs.name, server.serverName);
      const cases = childrenNamed(suite, 'testcase');
      assert.equal(cases.length, server.checks.length);
      assert.equal(suite.attrs.tests, String(server.checks.length));
      const fails = server.checks.filter((c) => c.status === 'fail').length;
      assert.equal(suite.attrs.failures, String(fails));
      assert.equal(cases.filter((c) => childrenNamed(c, 'failure').length === 1).length, fails);
      assert.equal(
        cases.filter((c) => childrenNamed(c, 'skipped').length === 1).length,
        server.checks.filter((c) => c.status === 'skip').length,
      );
      server.checks.forEach((f, j) => {
        const tc = cases[j]!;
        assert.equal(tc.attrs.name, f.target ? `${f.id} @ ${f.target}` : f.id);
        assert.equal(tc.attrs.classname, `fedcheck.${stageOf(f.id)}`);
        if (f.status === 'warn') assert.ok(childrenNamed(tc, 'system-out')[0]!.text.startsWith('WARNING: '));
        if (f.status === 'pass') assert.equal(childrenNamed(tc, 'system-out')[0]!.text, f.summary);
      });
    });

    const tlsFail = childrenNamed(suites[0]!, 'testcase').find((c) => c.attrs.name === 'tls @ [::1]:8448')!;
    const failure = childrenNamed(tlsFail, 'failure')[0]!;
    assert.equal(failure.attrs.message, 'connection refused');
    assert.equal(failure.text, 'connection refused\nNothing listens on [::1]:8448 from the outside: other homeservers try IPv6 first and give up.');

    const hostile = childrenNamed(suites[0]!, 'testcase').find((c) => c.attrs.name === 'server-keys @ 192.0.2.10:8448')!;
    assert.equal(childrenNamed(hostile, 'failure')[0]!.attrs.message, 'key response names [31mevil.example[0m FAKE: all checks passed 2J');
  });

  test('escapes markup and strips characters XML forbids', () => {
    const r = sampleReport();
    r.servers[0]!.serverName = 'a"b<c>&d\'e\u0001\ufffe';
    r.servers[0]!.checks[0]!.summary = '</testcase><injected/> & ]]> \udfff';
    const xml = renderJunit(r);
    const root = parseXml(xml);
    assert.equal(childrenNamed(root, 'testsuite')[0]!.attrs.name, 'a"b<c>&d\'e');
    assert.equal(childrenNamed(childrenNamed(root, 'testsuite')[0]!, 'testcase')[0]!.children[0]!.text, '</testcase><injected/> & ]]> \ufffd');
  });

  test('redacts access tokens', () => {
    const xml = renderJunit(sampleReport());
    assert.ok(!xml.includes('YWxpY2U'));
    assert.ok(xml.includes('access_token=[REDACTED]'));
  });

  test('the checker rejects malformed XML', () => {
    for (const bad of ['<a><b></a></b>', '<a>&foo;</a>', '<a x="1" x="2"/>', '<a>\u0001</a>', '<a/><b/>', '<a x="<"/>', '<a>', '<a>&amp</a>'])
      assert.throws(() => parseXml(bad), Error, bad);
    assert.doesNotThrow(() => parseXml('<?xml version="1.0"?>\n<a x=\'1\'><b>t &amp; &#65; &#x42;</b></a>\n'));
  });
});

describe('Markdown renderer', () => {
  test('redacts access tokens by default', () => {
    const out = renderMarkdown(sampleReport());
    assert.ok(!out.includes('YWxpY2U'), 'token body must not appear');
    assert.ok(out.includes('Bearer \\[REDACTED\\]') || out.includes('syt\\_\\[REDACTED\\]'));
    assert.ok(out.includes('access\\_token=\\[REDACTED\\]'));
    assert.equal(defaultRedact(`x ${TOKEN} y`), 'x syt_[REDACTED] y');
    assert.equal(defaultRedact('Authorization: Bearer abcdef123456'), 'Authorization: Bearer [REDACTED]');
    assert.equal(defaultRedact('GET /sync?since=1&access_token=abc123&x=1'), 'GET /sync?since=1&access_token=[REDACTED]&x=1');
    assert.equal(defaultRedact('{"access_token": "abcdef"}'), '{"access_token": "[REDACTED]"}');
    assert.equal(defaultRedact('the bearer of bad news'), 'the bearer of bad news');
  });

  test('applies a custom redact function to everything', () => {
    const out = renderMarkdown(sampleReport(), { redact: (s) => s.replaceAll('example', 'EXAMPLE') });
    assert.ok(!out.includes('example'), 'every piece of report text passes through redact');
    assert.ok(out.includes(TOKEN.replaceAll('_', '\\_')), 'a custom redact replaces the default');
  });

  test('escapes pipes and backticks; one table row per finding', () => {
    const report = sampleReport();
    const out = renderMarkdown(report);
    assert.ok(out.startsWith('# fedcheck report\n'));
    assert.ok(out.includes('## example.com — ❌ 3 problems, 3 warnings'));
    assert.ok(out.includes('Set \\`server\\_name\\` \\| in homeserver.yaml to example.com and restart.'));
    // with several servers, a summary table first: one row per server
    const summary = out.slice(0, out.indexOf('\n## ')).split('\n').filter((l) => l.startsWith('| '));
    assert.deepEqual(summary, ['| server | verdict | fail | warn |', '| --- | --- | --- | --- |', '| example.com | ❌ FAIL | 3 | 3 |', '| xn--bcher-kva.example | ✅ OK | 0 | 1 |']);
    const details = out.slice(out.indexOf('\n## '));
    const rows = details.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| status') && !l.startsWith('| ---'));
    assert.equal(rows.length, allFindings(report).length);
    for (const row of rows) {
      // exactly 5 unescaped pipes: 4 columns
      let pipes = 0;
      for (let i = 0; i < row.length; i++) if (row[i] === '|' && row[i - 1] !== '\\') pipes++;
      assert.equal(pipes, 5, row);
    }
    assert.ok(out.includes('- TLS server name (SNI): none (IP certificate)'));
    assert.ok(out.includes('**How to fix**'));
    assert.ok(out.includes('pointing at ::1 (loopback)'));
    assert.equal(escapeMarkdown('a|b`c*d_e[f](g)<h>#i~j&k$l\\m'), 'a\\|b\\`c\\*d\\_e\\[f\\](g)\\<h\\>\\#i\\~j\\&k\\$l\\\\m');
  });
});

describe('many servers', () => {
  function many(n: number, broken: number[], warned: number[] = []): Report {
    const servers: ServerReport[] = [];
    for (let i = 1; i <= n; i++) {
      const fail = broken.includes(i);
      const checks: Finding[] = [{ id: 'server-name', status: 'pass', summary: `s${i}.example is a valid server name` }];
      if (fail) checks.push({ id: 'dns', status: 'fail', summary: `s${i}.example: no address`, hint: `Add an A record for s${i}.example.` });
      if (warned.includes(i)) checks.push({ id: 'srv', status: 'warn', summary: 'only the deprecated _matrix._tcp record', hint: 'Add _matrix-fed._tcp.' });
      servers.push({ serverName: `s${i}.example`, ok: !fail, resolution: null, checks });
    }
    return { schemaVersion: 1, ok: broken.length === 0, tool: { name: 'fedcheck', version: '0.1.0' }, generatedAt: '2025-01-31T12:00:00.000Z', servers };
  }
  const headers = (text: string) => text.split('\n').filter((l) => /^s\d+\.example$/.test(l));

  test('below 10 servers every server is detailed, without a note', () => {
    const text = renderText(many(9, [3]), { colour: false });
    assert.equal(headers(text).length, 9);
    assert.doesNotMatch(text, /--full/);
  });

  test('from 10 servers on only the servers with failures are detailed, and the report says so', () => {
    const r = many(12, [4, 11], [5]);
    const text = renderText(r, { colour: false });
    assert.deepEqual(headers(text), ['s4.example', 's11.example']);
    assert.match(text.replace(/\n/g, ' '), /Details are shown only for the 2 servers with problems; the other 10 passed \(1 of them with warnings, counted in the table\)\. Use --full to detail every server\./);
    assert.match(text, /2 of 12 servers have problems/);
    assert.ok(text.includes('→ how to fix: Add an A record for s11.example.'), 'the hints of the detailed servers');
    assert.equal(headers(renderText(r, { colour: false, full: true })).length, 12);
  });

  test('a large all-green batch says that none is detailed', () => {
    const text = renderText(many(10, []), { colour: false });
    assert.deepEqual(headers(text), []);
    assert.match(text.replace(/\n/g, ' '), /No server has a failed check, so none is detailed\. Use --full/);
    assert.match(text, /all 10 servers: federation OK/);
  });

  test('Markdown follows the same rule, with a summary table of every server', () => {
    const md = renderMarkdown(many(12, [4]));
    assert.equal(md.split('\n').filter((l) => /^\| s\d+\.example \|/.test(l)).length, 12);
    assert.equal(md.split('\n').filter((l) => l.startsWith('## ')).length, 1);
    assert.equal(renderMarkdown(many(12, [4]), { full: true }).split('\n').filter((l) => l.startsWith('## ')).length, 12);
  });
});

describe('GitHub annotations', () => {
  test('escaping rules', () => {
    assert.equal(escapeData('50% a\r\nb: c,d'), '50%25 a%0D%0Ab: c,d');
    assert.equal(escapeProperty('50% a\r\nb: c,d'), '50%25 a%0D%0Ab%3A c%2Cd');
  });

  test('one ::error per fail and one ::warning per warn, single-line', () => {
    const report = sampleReport();
    const out = renderGithubAnnotations(report);
    const lines = out.trimEnd().split('\n');
    const findings = allFindings(report);
    assert.equal(lines.filter((l) => l.startsWith('::error ')).length, findings.filter((f) => f.status === 'fail').length);
    assert.equal(lines.filter((l) => l.startsWith('::warning ')).length, findings.filter((f) => f.status === 'warn').length);
    assert.equal(lines.length, findings.filter((f) => f.status === 'fail' || f.status === 'warn').length);
    assert.ok(
      lines.includes(
        '::error title=fedcheck tls::example.com [::1]:8448: connection refused — Nothing listens on [::1]:8448 from the outside: other homeservers try IPv6 first and give up.',
      ),
    );
    assert.ok(lines.includes('::warning title=fedcheck dns::example.com: srv-target.example.net has an AAAA record pointing at ::1 (loopback) — Delete the AAAA record of srv-target.example.net or point it at the public IPv6 address of the server.'));
    // multi-line hints are kept as %0A
    assert.ok(out.includes('in homeserver.yaml%0Ato example.com'));
    const weird = sampleReport();
    weird.servers[0]!.checks[3]!.id = 'a:b,c' as Finding['id'];
    assert.ok(renderGithubAnnotations(weird).includes('::warning title=fedcheck a%3Ab%2Cc::'));
    assert.equal(renderGithubAnnotations({ ...report, servers: [] }), '');
    // CI logs are public: tokens are redacted
    assert.ok(!out.includes('YWxpY2U'));
    assert.ok(out.includes('Bearer [REDACTED]') && out.includes('access_token=[REDACTED]'));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('properties', () => {
  const nastyChar = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('\x1b', '\r', '\n', '\t', '\u009b', '\u0085', '\u2028', '\u202e', '\ud800', '\udc00', '\ufffe', '\u0000', '|', '`', '<', '&', '%', ':', ',', '"', ']]>', '漢', '😀', 'e\u0301') },
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)) },
    { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  );
  const str = fc.string({ unit: nastyChar, maxLength: 60 });
  const ids = ['server-name', 'well-known', 'srv', 'dns', 'tls', 'federation-version', 'server-keys', 'health', 'cors', 'federation'];
  const finding = fc.record(
    {
      id: fc.oneof(fc.constantFrom(...ids), str),
      status: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('pass', 'warn', 'fail', 'skip', 'info') }, { weight: 1, arbitrary: str }),
      target: fc.oneof(fc.constantFrom('[::1]:8448', '192.0.2.1:8448'), str),
      summary: str,
      hint: str,
      details: fc.dictionary(str, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    },
    { requiredKeys: ['id', 'status', 'summary'] },
  ) as fc.Arbitrary<Finding>;
  const resolution = fc.record({
    method: fc.oneof(fc.constantFrom('well-known-srv', 'ip-literal', 'default-port'), str),
    delegatedServerName: fc.option(str, { nil: null }),
    hostHeader: str,
    tlsServerName: fc.option(str, { nil: null }),
    certificateName: str,
    targets: fc.array(fc.record({ host: str, port: fc.integer({ min: 0, max: 70000 }), addresses: fc.array(str, { maxLength: 3 }) }), { maxLength: 3 }),
  });
  const server = fc.record(
    {
      serverName: str,
      input: str,
      ok: fc.boolean(),
      resolution: fc.option(resolution, { nil: null }),
      checks: fc.array(finding, { maxLength: 8 }),
      durationMs: fc.oneof(fc.nat(), fc.double()),
    },
    { requiredKeys: ['serverName', 'ok', 'resolution', 'checks'] },
  );
  const report = fc.record({
    schemaVersion: fc.constant(1 as const),
    ok: fc.boolean(),
    tool: fc.record({ name: fc.constant('fedcheck' as const), version: str }),
    generatedAt: str,
    servers: fc.array(server, { maxLength: 3 }),
  }) as fc.Arbitrary<Report>;

  test('no renderer throws on arbitrary unicode; colourless text never contains ESC', () => {
    fc.assert(
      fc.property(report, fc.integer({ min: 20, max: 160 }), (r, width) => {
        const text = renderText(r, { colour: false, width });
        assert.ok(!text.includes(ESC));
        renderText(r, { colour: true, width });
        JSON.parse(renderJson(r));
        parseXml(renderJunit(r));
        renderMarkdown(r);
        renderMarkdown(r, { redact: (s) => s.toUpperCase() });
        renderGithubAnnotations(r);
      }),
      { numRuns: 400 },
    );
  });

  test('no format lets report text inject control characters or lines', () => {
    fc.assert(
      fc.property(report, (r) => {
        const o = renderAll(r);
        // eslint-disable-next-line no-control-regex
        o.textColour = o.textColour!.replace(/\x1b\[[0-9;]*m/g, '');
        for (const [name, out] of Object.entries(o)) {
          assert.ok(!out.includes(ESC), `${name}: ESC`);
          assert.ok(!out.includes('\r'), `${name}: CR`);
          assert.ok(!out.includes('\u009b'), `${name}: CSI`);
          assert.ok(!out.includes('\u202e'), `${name}: RLO`);
        }
        const expected = r.servers.flatMap((s) => s.checks).filter((f) => f.status === 'fail' || f.status === 'warn').length;
        const lines = o.github === '' ? [] : o.github!.trimEnd().split('\n');
        assert.equal(lines.length, expected);
        for (const l of lines) assert.ok(l.startsWith('::error title=') || l.startsWith('::warning title='), l);
        const root = parseXml(o.junit!);
        assert.equal(
          childrenNamed(root, 'testsuite').reduce((n, s) => n + childrenNamed(s, 'testcase').length, 0),
          r.servers.reduce((n, s) => n + s.checks.length, 0),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('text output never exceeds the requested width (printable ASCII input)', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', '.', ':', '-', '/', '[', ']'), minLength: 1, maxLength: 70 });
    const ascii = fc.array(word, { maxLength: 12 }).map((w) => w.join(' '));
    const f = fc.record({
      id: fc.oneof(fc.constantFrom(...ids), ascii),
      status: fc.constantFrom('pass', 'warn', 'fail', 'skip', 'info'),
      target: fc.oneof(fc.constant(undefined), fc.constantFrom('[2001:db8:1234:5678:9abc:def0:1234:5678]:8448', '192.0.2.1:8448'), ascii),
      summary: ascii,
      hint: ascii,
    }) as fc.Arbitrary<Finding>;
    const rep = fc.record({
      schemaVersion: fc.constant(1 as const),
      ok: fc.boolean(),
      tool: fc.record({ name: fc.constant('fedcheck' as const), version: ascii }),
      generatedAt: ascii,
      servers: fc.array(
        fc.record({
          serverName: ascii,
          input: ascii,
          ok: fc.boolean(),
          resolution: fc.option(
            fc.record({
              method: fc.constantFrom('well-known-srv', 'srv', 'default-port'),
              delegatedServerName: fc.option(ascii, { nil: null }),
              hostHeader: ascii,
              tlsServerName: fc.option(ascii, { nil: null }),
              certificateName: ascii,
              targets: fc.array(fc.record({ host: ascii, port: fc.integer({ min: 1, max: 65535 }), addresses: fc.array(ascii, { maxLength: 3 }) }), { maxLength: 2 }),
            }),
            { nil: null },
          ),
          checks: fc.array(f, { maxLength: 6 }),
        }),
        { maxLength: 3 },
      ),
    }) as fc.Arbitrary<Report>;
    fc.assert(
      fc.property(rep, fc.integer({ min: 40, max: 160 }), (r, width) => {
        const out = renderText(r, { colour: false, width });
        for (const line of out.split('\n')) assert.ok([...line].length <= width, `width ${width}, line ${[...line].length}: ${line}`);
        assert.ok(!out.includes('…'), 'nothing truncated');
      }),
      { numRuns: 300 },
    );
  });
});
