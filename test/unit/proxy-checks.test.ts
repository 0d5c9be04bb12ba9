/**
 * The reverse-proxy checks over synthetic evidence: every verdict path without a proxy.
 * (test/proxies runs the same checks against real nginx, Apache, Caddy and HAProxy.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEvidence } from '../../src/core/evidence.js';
import { buildProbeSet } from '../../src/core/proxy-probes.js';
import type { EchoRecord } from '../../src/backend/server.js';
import type {
  AdminProbeResult,
  LiveRoutingProbe,
  ProbeResponse,
  ProxyEndpointEvidence,
  ProxyEvidence,
  UploadEvidence,
} from '../../src/probes/proxy.js';
import { ADMIN_PROBES, liveRoutingPairs } from '../../src/probes/proxy.js';
import uriCheck, { judge as judgeUri, describeDifferences } from '../../src/checks/uri-canonicalization.js';
import forwardedCheck, { judge as judgeForwarded, headerValues } from '../../src/checks/forwarded-headers.js';
import uploadCheck, { judge as judgeUpload, formatBytes } from '../../src/checks/upload-limit.js';
import adminCheck, { judge as judgeAdmin, adminAnswers } from '../../src/checks/admin-exposure.js';
import { detectProxy, fixHint, proxyFromServerHeader, FIXES } from '../../src/checks/proxy-fixes.js';

const NONCE = 'n0nce';

function echo(target: string, extra: Partial<EchoRecord> = {}): EchoRecord {
  return {
    fedcheck_echo: 1,
    probe: 'p',
    server: 'fedcheck-backend',
    serverName: 'example.com',
    rawTarget: target,
    method: 'GET',
    httpVersion: '1.1',
    headers: [
      ['Host', 'matrix.example.com'],
      ['X-Forwarded-For', '198.51.100.7'],
      ['X-Forwarded-Proto', 'https'],
    ],
    bodyLength: 0,
    declaredLength: null,
    remoteAddress: '10.0.0.2',
    remotePort: 40000,
    ...extra,
  };
}

function resp(status: number, body: unknown, server: string | null = null): ProbeResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const json = typeof body === 'object' && body !== null;
  const errcode = json && typeof (body as { errcode?: unknown }).errcode === 'string' ? (body as { errcode: string }).errcode : null;
  return { status, server, contentType: json ? 'application/json' : 'text/html', errcode, json, bodySnippet: text.slice(0, 300) };
}

/** An exact-mode endpoint where every probe arrived as `transform(target)`. */
function exactEndpoint(role: ProxyEndpointEvidence['role'], transform: (t: string) => string | ProbeResponse = (t) => t, over: Partial<ProxyEndpointEvidence> = {}): ProxyEndpointEvidence {
  const probes = buildProbeSet(role, NONCE);
  return {
    label: 'test',
    target: '192.0.2.10:8448',
    role,
    scheme: 'https',
    address: '192.0.2.10',
    port: 8448,
    servername: 'matrix.example.com',
    hostHeader: 'matrix.example.com',
    baseUrl: role === 'federation' ? null : 'https://matrix.example.com',
    mode: 'exact',
    modeReason: 'stand-in',
    connectError: null,
    serverHeaders: ['nginx/1.22.1'],
    clientAddress: '198.51.100.7',
    nonce: NONCE,
    targets: probes.map((p) => {
      const out = transform(p.target);
      return typeof out === 'string'
        ? { probe: p, echo: { rawTarget: out, method: 'GET', httpVersion: '1.1' }, response: null, error: null, ms: 1 }
        : { probe: p, echo: null, response: out, error: null, ms: 1 };
    }),
    forwarded: {
      plain: { target: '/_matrix/federation/v1/version', sentHeaders: {}, hostHeader: 'matrix.example.com', echo: echo('/_matrix/federation/v1/version'), response: null, error: null },
      spoofed: {
        target: '/_matrix/federation/v1/version',
        sentHeaders: { 'X-Forwarded-For': '192.0.2.44' },
        hostHeader: 'matrix.example.com',
        echo: echo('/_matrix/federation/v1/version'),
        response: null,
        error: null,
      },
      spoofedAddress: '192.0.2.44',
    },
    upload: null,
    admin: ADMIN_PROBES.map((a) => ({ ...a, forwarded: false, response: resp(404, '<html>not found</html>', 'nginx'), error: null })),
    live: null,
    ms: 5,
    ...over,
  };
}

const pe = (...endpoints: ProxyEndpointEvidence[]): ProxyEvidence => ({ endpoints, notes: [] });

test('uri: untouched targets pass', () => {
  const [f] = judgeUri(pe(exactEndpoint('both')));
  assert.equal(f!.status, 'pass');
  assert.equal(f!.target, '192.0.2.10:8448');
  assert.match(f!.summary, /byte for byte/);
});

test('uri: cosmetic changes fail on federation probes, only warn on a client-only endpoint', () => {
  const upper = (t: string) => t.replace(/%[0-9a-f]{2}/g, (m) => m.toUpperCase());
  const [fed] = judgeUri(pe(exactEndpoint('federation', upper)));
  assert.equal(fed!.status, 'fail');
  assert.match(fed!.hint!, /401 M_UNAUTHORIZED/);
  const [cl] = judgeUri(pe(exactEndpoint('client', upper)));
  assert.equal(cl!.status, 'warn');
  assert.match(cl!.summary, /lowercase hex upper-cased/);
});

test('uri: a structural change on a client-only endpoint fails', () => {
  const [f] = judgeUri(pe(exactEndpoint('client', (t) => t.replace(/%2F/g, '/'))));
  assert.equal(f!.status, 'fail');
  assert.match(f!.summary, /%2F decoded to \//);
  assert.match(f!.hint!, /nginx \(detected\)/);
});

test('uri: refusing only %2F picks the encoded-slash fix; edge probe refusals are never judged', () => {
  const e = exactEndpoint('both', (t) => (/%2F/.test(t.split('?')[0]!) && !t.includes('%00') ? resp(404, '<html>Not Found</html>', 'Apache/2.4') : /%00|%zz|%$/.test(t) ? resp(400, 'bad') : t));
  e.serverHeaders = ['Apache/2.4.71 (Debian)'];
  const [f] = judgeUri(pe(e));
  assert.equal(f!.status, 'fail');
  assert.match(f!.summary, /refuses requests with %2F/);
  assert.match(f!.hint!, /^Apache \(detected\): set `AllowEncodedSlashes NoDecode`/m);
  assert.doesNotMatch(f!.hint!, /add `nocanon` to each ProxyPass/);
  const only400 = exactEndpoint('both', (t) => (/%00|%zz|%$|#|\u00e9|AAAAAAAA/.test(t) ? resp(400, 'bad') : t));
  assert.equal(judgeUri(pe(only400))[0]!.status, 'pass');
});

test('uri: nothing routed → skip; unreachable → skip naming the cause', () => {
  const none = exactEndpoint('both', () => resp(404, 'no'));
  const [s] = judgeUri(pe(none));
  assert.equal(s!.status, 'skip');
  assert.match(s!.summary, /forwards none of the probe routes/);
  const down = exactEndpoint('both', undefined, { mode: 'unreachable', modeReason: 'no answer on /_matrix/federation/v1/version: connection refused' });
  for (const fs of [judgeUri(pe(down)), judgeForwarded(pe(down)), judgeUpload(pe(down)), judgeAdmin(pe(down))]) {
    assert.equal(fs[0]!.status, 'skip');
    assert.match(fs[0]!.summary, /connection refused/);
  }
});

test('describeDifferences groups decoded escapes and hex-case examples', () => {
  const out = describeDifferences([
    { code: 'decoded', message: '%24 decoded to $' },
    { code: 'decoded-slash', message: '%2F decoded to /' },
    { code: 'decoded', message: '%3A decoded to :' },
    { code: 'hex-uppercased', message: 'lowercase hex upper-cased (%2f → %2F)' },
    { code: 'hex-uppercased', message: 'lowercase hex upper-cased (%c3 → %C3)' },
  ]);
  assert.deepEqual(out, ['%2F decoded to /', 'escapes decoded (%24 → $, %3A → :)', 'lowercase hex upper-cased (%2f → %2F, %c3 → %C3)']);
});

// ------------------------------------------------------------------------------------ live mode

function liveEndpoint(role: ProxyEndpointEvidence['role'], answer: (target: string, isTest: boolean) => ProbeResponse | null): ProxyEndpointEvidence {
  const live: LiveRoutingProbe[] = liveRoutingPairs(role, NONCE).map((p) => ({
    id: p.id,
    api: p.api,
    feature: p.feature,
    what: p.what,
    control: { target: p.control, response: answer(p.control, false), error: null },
    test: { target: p.test, response: answer(p.test, true), error: null },
  }));
  return { ...exactEndpoint(role), mode: 'live', targets: [], forwarded: null, live };
}

const homeserver = (t: string) =>
  /version$|versions$/.test(t) && !t.includes('..')
    ? resp(200, { server: { name: 'Synapse' } })
    : t.includes('..')
      ? resp(404, { errcode: 'M_UNRECOGNIZED' })
      : t.includes('/federation/')
        ? resp(401, { errcode: 'M_UNAUTHORIZED' })
        : resp(401, { errcode: 'M_MISSING_TOKEN' });

test('live: a transparent proxy passes and says what was not determined and how to know', () => {
  const [f] = judgeUri(pe(liveEndpoint('both', (t) => homeserver(t))), 'example.org');
  assert.equal(f!.status, 'pass');
  assert.match(f!.summary, /routed like a plain ID/);
  assert.match(f!.summary, /Not determined from outside/);
  assert.match(f!.summary, /fedcheck backend --listen .* --server-name example\.org/);
  assert.match(f!.summary, /federation signatures cover all of them/);
  const [fw] = judgeForwarded(pe(liveEndpoint('both', (t) => homeserver(t))), 'example.org');
  assert.equal(fw!.status, 'skip');
  assert.match(fw!.summary, /cannot be seen from outside/);
});

test('live: decoded %2F (M_UNRECOGNIZED instead of the auth error) fails', () => {
  const e = liveEndpoint('federation', (t, isTest) => (isTest && t.includes('%2F') ? resp(404, { errcode: 'M_UNRECOGNIZED' }) : homeserver(t)));
  const [f] = judgeUri(pe(e));
  assert.equal(f!.status, 'fail');
  assert.match(f!.summary, /changes how the request is routed/);
  assert.match(f!.hint!, /nginx \(detected\): give proxy_pass no URI part/);
});

test('live: %2F refused by the proxy (not a Matrix answer) fails with the encoded-slash fix', () => {
  const e = liveEndpoint('both', (t, isTest) => (isTest && t.includes('%2F') ? resp(404, '<html>Not Found</html>', 'Apache') : homeserver(t)));
  const [f] = judgeUri(pe(e));
  assert.equal(f!.status, 'fail');
  assert.match(f!.summary, /refuses requests with an encoded '\/'/);
  assert.match(f!.hint!, /AllowEncodedSlashes NoDecode/);
});

test('live: a resolved dot segment is noted without blame; nothing homeserver-like → skip', () => {
  const e = liveEndpoint('federation', (t) => (t.includes('..') ? resp(200, { server: { name: 'Synapse' } }) : homeserver(t)));
  const [f] = judgeUri(pe(e));
  assert.equal(f!.status, 'pass');
  assert.match(f!.summary, /resolved before routing — by the proxy or by the homeserver itself/);
  const [s] = judgeUri(pe(liveEndpoint('both', () => resp(200, ''))));
  assert.equal(s!.status, 'skip');
  assert.match(s!.summary, /could not be observed/);
});

// ---------------------------------------------------------------------------- forwarded headers

function withEchoes(plain: Partial<EchoRecord>, spoofed: Partial<EchoRecord> = {}, over: Partial<ProxyEndpointEvidence> = {}): ProxyEndpointEvidence {
  const e = exactEndpoint('both', undefined, over);
  e.forwarded!.plain.echo = echo('/v', plain);
  e.forwarded!.spoofed.echo = echo('/v', { ...plain, ...spoofed });
  return e;
}

test('forwarded: client address behind NAT (XFF is neither our address nor the proxy) is fine', () => {
  const e = withEchoes({ headers: [['Host', 'matrix.example.com:443'], ['X-Forwarded-For', '203.0.113.9'], ['X-Forwarded-Proto', 'https']] });
  const [f] = judgeForwarded(pe(e));
  assert.equal(f!.status, 'pass');
  assert.match(f!.summary, /Host matrix\.example\.com:443 preserved/);
});

test("forwarded: the proxy's own address in XFF, wrong XFP, HTTP/1.0", () => {
  const e = withEchoes({ headers: [['Host', 'matrix.example.com'], ['X-Forwarded-For', '10.0.0.2'], ['X-Forwarded-Proto', 'http']], httpVersion: '1.0' });
  const fs = judgeForwarded(pe(e));
  assert.deepEqual(fs.map((f) => f.details!.code).sort(), ['http-1.0', 'xff-proxy-address', 'xfp-wrong']);
  assert.ok(fs.every((f) => f.status === 'warn'));
});

test('forwarded: XFF split across header lines counts in order (HAProxy option forwardfor)', () => {
  const e = withEchoes({}, { headers: [['host', 'matrix.example.com'], ['x-forwarded-for', '192.0.2.44'], ['x-forwarded-proto', 'https'], ['x-forwarded-for', '198.51.100.7']] });
  e.serverHeaders = [];
  const fs = judgeForwarded(pe(e));
  assert.deepEqual(fs.map((f) => f.details!.code), ['xff-spoofable']);
  assert.deepEqual(headerValues(e.forwarded!.spoofed.echo!.headers, 'X-Forwarded-For'), ['192.0.2.44', '198.51.100.7']);
});

test('forwarded: Host rewritten is a warning with a client base URL, information on federation only', () => {
  const h: Array<[string, string]> = [['Host', '127.0.0.1:8008'], ['X-Forwarded-For', '198.51.100.7'], ['X-Forwarded-Proto', 'https']];
  assert.equal(judgeForwarded(pe(withEchoes({ headers: h })))[0]!.status, 'warn');
  const fed = withEchoes({ headers: h }, {}, { role: 'federation' });
  const [f] = judgeForwarded(pe(fed));
  assert.equal(f!.status, 'info');
  assert.equal(f!.details!.code, 'host-rewritten');
});

// ---------------------------------------------------------------------------------- upload limit

function upload(attempts: Array<[number, UploadEvidence['attempts'][number]['outcome'], string?]>, role: 'client' | 'federation' = 'client'): ProxyEndpointEvidence {
  const u: UploadEvidence = {
    method: role === 'client' ? 'POST' : 'PUT',
    target: '/_matrix/media/v3/upload',
    technique: 'expect-100-continue',
    thresholdBytes: role === 'client' ? 50 * 1024 * 1024 : 4 * 1024 * 1024,
    thresholdReason: 'x',
    attempts: attempts.map(([declared, outcome, errcode]) => ({ declared, outcome, status: outcome === 'refused' ? 413 : outcome === 'continue' ? 100 : null, errcode: errcode ?? null, server: null, ms: 1 })),
    largestAccepted: null,
    smallestRefused: null,
    refusedByHomeserver: attempts.some(([, o, e]) => o === 'refused' && !!e),
    bodyBytesSent: 0,
  };
  for (const [d, o] of attempts) {
    if (o === 'refused') u.smallestRefused = Math.min(u.smallestRefused ?? Infinity, d);
    else if (o !== 'error') u.largestAccepted = Math.max(u.largestAccepted ?? 0, d);
  }
  return { ...exactEndpoint(role), upload: u };
}

test('upload: exact nginx default, a range, the homeserver limit, silence, errors', () => {
  const M = 1024 * 1024;
  const exact = judgeUpload(pe(upload([[50 * M, 'refused'], [10 * M, 'refused'], [2 * M, 'refused'], [M, 'continue'], [M + 1, 'refused']])))[0]!;
  assert.equal(exact.status, 'warn');
  assert.match(exact.summary, /above exactly 1 MiB \(nginx's default client_max_body_size\)/);
  assert.match(exact.summary, /Expect: 100-continue/);
  const range = judgeUpload(pe(upload([[50 * M, 'refused'], [20 * M, 'continue'], [25 * M, 'refused'], [20 * M + 1, 'continue'], [22 * M, 'refused']])))[0]!;
  assert.match(range.summary, /between 20\.00 MiB \(20971521 bytes\) and 22 MiB/);
  const hs = judgeUpload(pe(upload([[50 * M, 'refused', 'M_TOO_LARGE'], [40 * M, 'continue']])))[0]!;
  assert.equal(hs.status, 'info');
  assert.match(hs.summary, /the homeserver itself/);
  const quiet = judgeUpload(pe(upload([[50 * M, 'no-response']])))[0]!;
  assert.equal(quiet.status, 'pass');
  assert.match(quiet.summary, /waiting for the body/);
  const fed = judgeUpload(pe(upload([[4 * M, 'refused'], [M, 'continue'], [M + 1, 'refused']], 'federation')))[0]!;
  assert.match(fed.summary, /federation transaction/);
  const err = judgeUpload(pe(upload([[50 * M, 'error']])))[0]!;
  assert.equal(err.status, 'skip');
  assert.equal(formatBytes(1048576), '1 MiB');
  assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
  assert.equal(formatBytes(900 * 1024), '900 KiB');
});

// -------------------------------------------------------------------------------- admin exposure

function admin(mode: 'exact' | 'live', results: Array<Partial<AdminProbeResult>>): ProxyEndpointEvidence {
  return { ...exactEndpoint('both'), mode, admin: ADMIN_PROBES.map((a, i) => ({ ...a, forwarded: false, response: resp(404, '<html/>'), error: null, ...(results[i] ?? {}) })) };
}

test('admin: forwarded (exact) or answering with JSON or a Matrix auth error (live) warns', () => {
  const ex = judgeAdmin(pe(admin('exact', [{ forwarded: true, response: null }])))[0]!;
  assert.equal(ex.status, 'warn');
  assert.match(ex.summary, /forwards \/_synapse\/admin\//);
  const live = judgeAdmin(pe(admin('live', [{ response: resp(200, { server_version: '1.99' }) }, { response: resp(401, { errcode: 'M_MISSING_TOKEN' }) }])))[0]!;
  assert.equal(live.status, 'warn');
  assert.match(live.summary, /server_version → HTTP 200/);
  assert.match(live.hint!, /nginx \(detected\)/);
});

test('admin: 404, M_UNRECOGNIZED and Caddy-style empty 200 are not exposure', () => {
  const f = judgeAdmin(pe(admin('live', [{ response: resp(404, { errcode: 'M_UNRECOGNIZED' }) }, { response: resp(200, '') }, { response: resp(405, { errcode: 'M_UNRECOGNIZED' }) }])))[0]!;
  assert.equal(f.status, 'pass');
  assert.equal(adminAnswers({ ...ADMIN_PROBES[0]!, forwarded: false, response: resp(403, { errcode: 'M_FORBIDDEN' }), error: null }), true);
});

// ------------------------------------------------------------------------------------- fixes

test('fix hints: detected proxy first, every topic has the four tested proxies', () => {
  const h = fixHint('canonicalization', 'caddy', 'because.');
  const lines = h.split('\n');
  assert.match(lines[0]!, /^Caddy \(detected\): /);
  assert.match(lines[1]!, /^nginx: /);
  assert.equal(lines[lines.length - 1], 'Why it matters: because.');
  assert.ok(lines.some((l) => l.startsWith('Traefik: ')) && lines.some((l) => l.startsWith('relayd: ')));
  for (const [topic, byProxy] of Object.entries(FIXES)) for (const p of ['nginx', 'apache', 'caddy', 'haproxy'] as const) assert.ok(byProxy[p], `${topic}/${p}`);
  assert.match(fixHint('xfp', null), /^nginx: /);
});

test('proxy detection from Server headers and backend-side fingerprints', () => {
  assert.equal(proxyFromServerHeader('nginx/1.22.1'), 'nginx');
  assert.equal(proxyFromServerHeader('openresty'), 'nginx');
  assert.equal(proxyFromServerHeader('Apache/2.4.71 (Debian) OpenSSL/3.0.19'), 'apache');
  assert.equal(proxyFromServerHeader('Caddy'), 'caddy');
  assert.equal(proxyFromServerHeader('cloudflare'), null);
  assert.equal(detectProxy([], [['Host', 'x'], ['X-Forwarded-Server', 'x']]), 'apache');
  assert.equal(detectProxy([], [['host', 'x'], ['x-forwarded-for', '1.2.3.4']]), 'haproxy');
  assert.equal(detectProxy([], [['host', 'x'], ['user-agent', 'y']]), null);
  assert.equal(detectProxy(['cloudflare', 'nginx']), 'nginx');
});

// ------------------------------------------------------------------------------ check objects

function serverEvidence(extra: Record<string, unknown>, resolved = true): ServerEvidence {
  return {
    evidenceVersion: 1,
    input: 'example.com',
    collectedAt: 0,
    durationMs: 0,
    options: { resolvers: [], resolve: [], connectTo: [], cacert: [], family: 0, timeoutMs: 1000, backend: null },
    parsed: { serverName: 'example.com' } as ServerEvidence['parsed'],
    discovery: { resolution: resolved ? {} : null } as ServerEvidence['discovery'],
    addresses: [],
    backendHealth: null,
    deadlineHit: false,
    extra,
  };
}

test('check objects: ids, titles, evidence from extra.proxy, skip causes', () => {
  const checks = [uriCheck, forwardedCheck, uploadCheck, adminCheck];
  assert.deepEqual(checks.map((c) => c.id), ['uri-canonicalization', 'forwarded-headers', 'upload-limit', 'admin-exposure']);
  for (const c of checks) {
    assert.ok(c.title.length > 10);
    const [noRes] = c.run(serverEvidence({}, false));
    assert.equal(noRes!.status, 'skip');
    assert.match(noRes!.summary, /could not be resolved/);
    const [notRun] = c.run(serverEvidence({}));
    assert.match(notRun!.summary, /did not run/);
    const ev = serverEvidence({ proxy: JSON.parse(JSON.stringify(pe(exactEndpoint('both')))) });
    assert.ok(c.run(ev).length >= 1);
  }
  assert.equal(uriCheck.run(serverEvidence({ proxy: pe(exactEndpoint('both')) }))[0]!.status, 'pass');
});
