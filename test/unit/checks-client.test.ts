/**
 * The client-discovery checks (client-well-known, client-versions, cors, support-well-known) and
 * the compatibility check, on hand-built evidence: no network. Each spec §2.3 outcome, each CORS
 * failure, each spec §6 disagreement, and the clean cases that must stay quiet.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding, HttpExchange, HttpResponseEvidence, NetError, Resolution, SrvRecord } from '../../src/core/types.js';
import type { ServerEvidence } from '../../src/core/evidence.js';
import type { DiscoveryEvidence, TargetEvidence } from '../../src/probes/resolve.js';
import type { AddressEvidence } from '../../src/probes/address.js';
import type { ClientCopiesEvidence, ClientEvidence, CompatibilityEvidence } from '../../src/probes/client.js';
import type { FollowedFetch } from '../../src/probes/follow.js';
import { conduwuitHostFor } from '../../src/probes/client.js';
import { parseServerName, type ParsedServerName } from '../../src/core/server-name.js';
import { parseServerWellKnown } from '../../src/core/well-known.js';
import {
  describeVersions,
  editDistance,
  joinBase,
  normaliseBaseUrl,
  parseClientWellKnown,
  sameJson,
  validateSupport,
  validateVersions,
} from '../../src/core/client-discovery.js';
import clientWellKnown from '../../src/checks/client-well-known.js';
import clientVersions from '../../src/checks/client-versions.js';
import cors, { allowOriginProblem, preflightProblems } from '../../src/checks/cors.js';
import supportWellKnown from '../../src/checks/support-well-known.js';
import compatibility, { synapseBlockedRange } from '../../src/checks/compatibility.js';
import { checks } from '../../src/checks/index.js';

// ---------------------------------------------------------------------------------------------
// builders
// ---------------------------------------------------------------------------------------------

const ORIGIN = 'https://app.element.io';
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
};
const JSON_CT = { 'content-type': 'application/json' };
const VERSIONS = { versions: ['r0.6.1', 'v1.1', 'v1.11', 'v1.12'], unstable_features: { 'org.example.x': true } };

function res(status: number, body: unknown = '', headers: Record<string, string | string[]> = {}): HttpResponseEvidence {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, httpVersion: '1.1', headers, body: text, bodyBytes: Buffer.byteLength(text), truncated: false };
}

function ex(url: string, response: HttpResponseEvidence | null, error: NetError | null = null, method = 'GET'): HttpExchange {
  const u = new URL(url);
  return { url, method, path: u.pathname, hostHeader: u.host, connectAddress: '192.0.2.1', connectPort: 443, tls: null, response, error, ms: 1 };
}

/** A fetch that ended with `final` after redirects through `via` (URLs answering 302). */
function fetched(url: string, final: HttpResponseEvidence, via: string[] = []): FollowedFetch {
  const urls = [url, ...via];
  const hops = urls.map((u, i) => ({
    exchange: ex(u, i === urls.length - 1 ? final : res(302, '', { location: urls[i + 1]!, ...CORS })),
    tlsProblem: null,
  }));
  return { url, hops, outcome: 'response', reason: null };
}

function failedFetch(url: string, error: NetError): FollowedFetch {
  return { url, hops: [{ exchange: ex(url, null, error), tlsProblem: null }], outcome: 'error', reason: error.message };
}

const REFUSED: NetError = { phase: 'connect', code: 'ECONNREFUSED', message: 'connection refused (nothing listening on that port)' };
const NXDOMAIN: NetError = { phase: 'dns', code: 'ENOTFOUND', message: 'matirx.example.org has no A or AAAA record' };

const WK = 'https://example.org/.well-known/matrix/client';
const SUPPORT = 'https://example.org/.well-known/matrix/support';
const VERS = 'https://matrix.example.org/_matrix/client/versions';

interface ClientOpts {
  file?: HttpResponseEvidence | FollowedFetch;
  filePreflight?: HttpResponseEvidence;
  versions?: HttpResponseEvidence | FollowedFetch | null;
  versionsPreflight?: HttpResponseEvidence | null;
  identity?: { baseUrl: string; response: HttpResponseEvidence } | null;
  support?: HttpResponseEvidence | FollowedFetch;
}

function asFetch(url: string, x: HttpResponseEvidence | FollowedFetch): FollowedFetch {
  return 'hops' in x ? x : fetched(url, x);
}

function clientEv(o: ClientOpts = {}): ClientEvidence {
  const file = asFetch(WK, o.file ?? res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } }, { ...JSON_CT, ...CORS }));
  const last = file.hops[file.hops.length - 1]?.exchange.response;
  const v = last && file.outcome === 'response' ? parseClientWellKnown(last) : null;
  const baseUrl = v?.baseUrl ?? null;
  const versionsUrl = baseUrl ? joinBase(baseUrl, '/_matrix/client/versions') : VERS;
  return {
    hostname: 'example.org',
    origin: ORIGIN,
    wellKnown: file,
    wellKnownPreflight: ex(WK, o.filePreflight ?? res(204, '', CORS), null, 'OPTIONS'),
    baseUrl,
    versions: baseUrl ? (o.versions === null ? null : asFetch(versionsUrl, o.versions ?? res(200, VERSIONS, { ...JSON_CT, ...CORS }))) : null,
    versionsPreflight: baseUrl ? (o.versionsPreflight === null ? null : ex(versionsUrl, o.versionsPreflight ?? res(204, '', CORS), null, 'OPTIONS')) : null,
    identity: o.identity ? { baseUrl: o.identity.baseUrl, fetch: fetched(`${o.identity.baseUrl}/_matrix/identity/v2`, o.identity.response) } : null,
    support: asFetch(SUPPORT, o.support ?? res(404, 'Not Found', { 'content-type': 'text/plain' })),
  };
}

function parsed(name: string): ParsedServerName {
  const p = parseServerName(name);
  if ('error' in p) throw new Error(p.error);
  return p;
}

function target(host: string, port: number, addresses: string[], fromSrv = false): TargetEvidence {
  return { host, port, source: 'dns', lookup: null, cname: null, addresses, fromSrv };
}

function okAddress(host: string, address: string, port: number, hostHeader: string, status = 200): AddressEvidence {
  const t = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', alpn: 'http/1.1', servername: host, chainAuthorized: true, chainError: null, chain: [], sessionReused: false };
  const v = ex(`https://${hostHeader}/_matrix/federation/v1/version`, res(status, status === 200 ? { server: { name: 'x' } } : 'no backend'));
  return { target: t, host, address, port, connectedTo: null, tls, connectError: null, version: v, keys: v, health: v };
}

function deadAddress(host: string, address: string, port: number): AddressEvidence {
  const t = `${address}:${port}`;
  const v = ex(`https://${host}/_matrix/federation/v1/version`, null, REFUSED);
  return { target: t, host, address, port, connectedTo: null, tls: null, connectError: REFUSED, version: v, keys: v, health: v };
}

/** Delegated to matrix.example.org:443 (public addresses), unless overridden. */
function discovery(o: Partial<DiscoveryEvidence> & { wkBody?: unknown; wkStatus?: number; wkVia?: string[] } = {}): DiscoveryEvidence {
  const p = parsed('example.org');
  const wkRes = res(o.wkStatus ?? 200, o.wkBody ?? { 'm.server': 'matrix.example.org:443' }, JSON_CT);
  const wk = fetched('https://example.org/.well-known/matrix/server', wkRes, o.wkVia ?? []);
  const verdict = parseServerWellKnown(wkRes);
  const targets = o.targets ?? [target('matrix.example.org', 443, ['8.8.4.4'])];
  const resolution: Resolution = o.resolution ?? {
    method: 'well-known-explicit-port',
    delegatedServerName: 'matrix.example.org:443',
    hostHeader: 'matrix.example.org:443',
    tlsServerName: 'matrix.example.org',
    certificateName: 'matrix.example.org',
    targets: targets.map((t) => ({ host: t.host, port: t.port, addresses: t.addresses })),
  };
  return {
    parsed: o.parsed ?? p,
    wellKnown: o.wellKnown === undefined ? { ...wk, verdict } : o.wellKnown,
    srv: o.srv ?? null,
    srvUnused: null,
    targets,
    resolution,
    resolutionError: null,
  };
}

function evidence(o: { client?: ClientEvidence | null; discovery?: DiscoveryEvidence | null; addresses?: AddressEvidence[]; copies?: ClientCopiesEvidence; compat?: CompatibilityEvidence | null; extra?: Record<string, unknown> } = {}): ServerEvidence {
  const d = o.discovery === undefined ? discovery() : o.discovery;
  const extra: Record<string, unknown> = { ...(o.extra ?? {}) };
  if (o.client !== null) extra['client'] = o.client ?? clientEv();
  if (o.copies) extra['client-copies'] = o.copies;
  if (o.compat) extra['compatibility'] = o.compat;
  return {
    evidenceVersion: 1,
    input: 'example.org',
    collectedAt: Date.now(),
    durationMs: 1,
    options: { resolvers: [], resolve: [], connectTo: [], cacert: [], family: 0, timeoutMs: 10_000, backend: null },
    parsed: d?.parsed ?? parsed('example.org'),
    discovery: d,
    addresses: o.addresses ?? (d?.resolution?.targets.flatMap((t) => t.addresses.map((a) => okAddress(t.host, a, t.port, d.resolution!.hostHeader))) ?? []),
    backendHealth: null,
    deadlineHit: false,
    extra,
  };
}

function only(fs: Finding[], status?: Finding['status']): Finding[] {
  return status ? fs.filter((f) => f.status === status) : fs;
}

function has(fs: Finding[], status: Finding['status'], text: string): Finding {
  const f = fs.find((x) => x.status === status && x.summary.includes(text));
  assert.ok(f, `expected a ${status} finding containing ${JSON.stringify(text)}; got:\n${fs.map((x) => `  ${x.status} ${x.summary}`).join('\n')}`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// core: client-discovery.ts
// ---------------------------------------------------------------------------------------------

describe('client discovery (pure parsing, spec §2.3)', () => {
  test('base_url normalisation: trailing slashes, query dropped, scheme required', () => {
    assert.deepEqual(normaliseBaseUrl('https://matrix.example.org/'), { ok: true, url: 'https://matrix.example.org' });
    assert.deepEqual(normaliseBaseUrl('https://matrix.example.org//'), { ok: true, url: 'https://matrix.example.org' });
    assert.deepEqual(normaliseBaseUrl('https://example.org/matrix/?x=1#y'), { ok: true, url: 'https://example.org/matrix' });
    assert.deepEqual(normaliseBaseUrl('https://example.org:8443'), { ok: true, url: 'https://example.org:8443' });
    const bare = normaliseBaseUrl('matrix.example.org');
    assert.equal(bare.ok, false);
    assert.match((bare as { reason: string }).reason, /did you mean "https:\/\/matrix\.example\.org"/);
    assert.equal(normaliseBaseUrl('ftp://example.org').ok, false);
    assert.equal(normaliseBaseUrl(42).ok, false);
    assert.equal(joinBase('https://a.example/', '/_matrix/client/versions'), 'https://a.example/_matrix/client/versions');
  });

  test('every outcome of the file alone', () => {
    const o = (r: HttpResponseEvidence) => parseClientWellKnown(r);
    assert.equal(o(res(404)).outcome, 'IGNORE');
    assert.equal(o(res(500)).outcome, 'FAIL_PROMPT');
    assert.equal(o(res(403)).outcome, 'FAIL_PROMPT');
    assert.equal(o(res(200, '   ')).problem, 'empty-body');
    assert.equal(o(res(200, '{"m.homeserver":')).problem, 'not-json');
    assert.equal(o(res(200, '[1]')).problem, 'not-object');
    assert.equal(o(res(200, { 'm.server': 'x:443' })).problem, 'no-homeserver');
    assert.match(o(res(200, { 'm.server': 'x:443' })).reason!, /server file/);
    assert.equal(o(res(200, { 'm.homeserver': 'https://x' })).problem, 'no-homeserver');
    assert.equal(o(res(200, { 'm.homeserver': {} })).outcome, 'FAIL_PROMPT');
    assert.equal(o(res(200, { 'm.homeserver': { base_url: '' } })).outcome, 'FAIL_PROMPT');
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 42 } })).outcome, 'FAIL_ERROR');
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 'matrix.example.org' } })).outcome, 'FAIL_ERROR');
    const ok = o(res(200, { 'm.homeserver': { base_url: 'https://m.example.org/' } }, JSON_CT));
    assert.equal(ok.outcome, 'valid');
    assert.equal(ok.baseUrl, 'https://m.example.org');
    assert.equal(ok.contentTypeWarning, undefined);
    assert.match(o(res(200, { 'm.homeserver': { base_url: 'https://m' } }, { 'content-type': 'text/plain' })).contentTypeWarning!, /text\/plain/);
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 'https://m' }, 'm.identity_server': {} })).outcome, 'FAIL_PROMPT');
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 'https://m' }, 'm.identity_server': { base_url: 'nope' } })).outcome, 'FAIL_ERROR');
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 'https://m' }, 'm.identity_server': { base_url: 'https://id.example' } })).identityBaseUrl, 'https://id.example');
    // Extra keys in Java package naming, values not objects (since v1.12), are fine.
    assert.equal(o(res(200, { 'm.homeserver': { base_url: 'https://m' }, 'org.example.flag': true })).outcome, 'valid');
  });

  test('/versions validation', () => {
    assert.equal(validateVersions(res(200, VERSIONS)).ok, true);
    assert.match(validateVersions(res(404, { errcode: 'M_UNRECOGNIZED' })).reason!, /404 \(M_UNRECOGNIZED\)/);
    assert.match(validateVersions(res(200, { versions: 'v1.1' })).reason!, /not an array/);
    assert.match(validateVersions(res(200, { versions: ['v1.1', 2] })).reason!, /must be a string/);
    assert.match(validateVersions(res(200, { versions: [], unstable_features: { a: 'yes' } })).reason!, /not a boolean/);
    assert.match(validateVersions(res(200, '<html>')).reason!, /not JSON/);
    assert.deepEqual(validateVersions(res(200, { versions: ['v1.1', '1.2'] })).unrecognised, ['1.2']);
    assert.equal(describeVersions(['v1.10', 'v1.2', 'r0.6.1', 'v1.9']), '4 versions: r0.6.1 … v1.10');
  });

  test('support file validation (spec §2.4)', () => {
    assert.equal(validateSupport(JSON.stringify({ contacts: [{ role: 'm.role.admin', matrix_id: '@a:example.org' }] })).valid, true);
    assert.equal(validateSupport(JSON.stringify({ support_page: 'https://example.org/help' })).valid, true);
    assert.equal(validateSupport(JSON.stringify({ contacts: [{ role: 'org.example.role.mod', email_address: 'a@b.c' }] })).valid, true);
    assert.match(validateSupport('{}').problems[0]!, /neither/);
    assert.match(validateSupport(JSON.stringify({ contacts: [] })).problems[0]!, /empty/);
    assert.match(validateSupport(JSON.stringify({ contacts: [{ matrix_id: '@a:b' }] })).problems[0]!, /no "role"/);
    assert.match(validateSupport(JSON.stringify({ contacts: [{ role: 'm.role.boss', matrix_id: '@a:b' }] })).problems[0]!, /unknown role/);
    assert.match(validateSupport(JSON.stringify({ contacts: [{ role: 'm.role.admin' }] })).problems[0]!, /neither "matrix_id" nor "email_address"/);
    assert.match(validateSupport(JSON.stringify({ contacts: [{ role: 'm.role.admin', matrix_id: 'admin' }] })).problems[0]!, /not a user ID/);
    assert.match(validateSupport(JSON.stringify({ support_page: 'example.org/help' })).problems[0]!, /not a URL/);
    assert.match(validateSupport('<html>').problems[0]!, /not valid JSON/);
  });

  test('helpers', () => {
    assert.equal(editDistance('matirx.example.org', 'matrix.example.org'), 1);
    assert.equal(editDistance('matrix.example.org', 'matrix.example.com'), 3);
    assert.equal(sameJson('{"a":1,"b":[1,2]}', '{ "b": [1,2], "a": 1 }'), true);
    assert.equal(sameJson('{"a":1}', '{"a":2}'), false);
    assert.equal(sameJson('{', '{}'), null);
  });
});

// ---------------------------------------------------------------------------------------------
// client-well-known
// ---------------------------------------------------------------------------------------------

describe('client-well-known', () => {
  const run = (c: ClientEvidence, more: Parameters<typeof evidence>[0] = {}) => clientWellKnown.run(evidence({ client: c, ...more }));

  test('valid: base_url used, /versions validated', () => {
    const fs = run(clientEv());
    has(fs, 'pass', 'valid: clients use https://matrix.example.org');
    assert.equal(only(fs, 'warn').length + only(fs, 'fail').length, 0);
  });

  test('404 → IGNORE (info)', () => void has(run(clientEv({ file: res(404) })), 'info', 'IGNORE'));
  test('500 → FAIL_PROMPT', () => void has(run(clientEv({ file: res(500, 'oops', CORS) })), 'fail', 'FAIL_PROMPT: https://example.org/.well-known/matrix/client: the server answered HTTP 500'));
  test('empty body → FAIL_PROMPT', () => void has(run(clientEv({ file: res(200, '', CORS) })), 'fail', 'the body is empty'));
  test('not JSON → FAIL_PROMPT', () => void has(run(clientEv({ file: res(200, '<html></html>', { 'content-type': 'text/html' }) })), 'fail', 'FAIL_PROMPT'));
  test('missing m.homeserver → FAIL_PROMPT', () => void has(run(clientEv({ file: res(200, { foo: 1 }, JSON_CT) })), 'fail', 'no "m.homeserver" key'));
  test('missing base_url → FAIL_PROMPT', () => void has(run(clientEv({ file: res(200, { 'm.homeserver': {} }, JSON_CT) })), 'fail', 'FAIL_PROMPT'));
  test('base_url not a URL → FAIL_ERROR', () => void has(run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'matrix.example.org' } }, JSON_CT) })), 'fail', 'FAIL_ERROR'));

  test('versions failing → FAIL_ERROR, naming the URL and why', () => {
    has(run(clientEv({ versions: res(404, { errcode: 'M_UNRECOGNIZED' }) })), 'fail', 'FAIL_ERROR: base_url https://matrix.example.org');
    has(run(clientEv({ versions: res(200, { versions: 'v1' }) })), 'fail', 'not an array');
    has(run(clientEv({ versions: failedFetch(VERS, REFUSED) })), 'fail', 'connection refused');
  });

  test('identity server: present without base_url → FAIL_PROMPT; broken → FAIL_ERROR; working → pass', () => {
    const file = (is: unknown) => res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' }, 'm.identity_server': is }, JSON_CT);
    has(run(clientEv({ file: file({}) })), 'fail', 'FAIL_PROMPT');
    has(run(clientEv({ file: file({ base_url: 'https://id.example' }), identity: { baseUrl: 'https://id.example', response: res(404) } })), 'fail', 'FAIL_ERROR: https://example.org/.well-known/matrix/client: the identity server https://id.example/_matrix/identity/v2 does not validate');
    has(run(clientEv({ file: file({ base_url: 'https://id.example' }), identity: { baseUrl: 'https://id.example', response: res(200, {}) } })), 'pass', 'identity server https://id.example answers');
  });

  test('versions failure outranks a missing identity base_url (spec order: step 6 before step 7)', () => {
    const file = res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' }, 'm.identity_server': {} }, JSON_CT);
    has(run(clientEv({ file, versions: res(502, 'bad gateway') })), 'fail', 'FAIL_ERROR');
  });

  test('no HTTPS server at the apex: info, not a failure', () => {
    const fs = run(clientEv({ file: failedFetch(WK, REFUSED) }));
    has(fs, 'info', 'not published');
    assert.equal(only(fs, 'fail').length, 0);
  });

  test('a redirect to an unreachable server is a failure, not "not published"', () => {
    const f: FollowedFetch = {
      url: WK,
      hops: [
        { exchange: ex(WK, res(301, '', { location: 'https://www.example.org/.well-known/matrix/client' })), tlsProblem: null },
        { exchange: ex('https://www.example.org/.well-known/matrix/client', null, REFUSED), tlsProblem: null },
      ],
      outcome: 'error',
      reason: REFUSED.message,
    };
    has(run(clientEv({ file: f })), 'fail', 'a redirect leads to a server that cannot be reached');
  });

  test('TLS problem on the file: FAIL_PROMPT failure', () => {
    const f: FollowedFetch = { url: WK, hops: [{ exchange: ex(WK, res(200, '{}')), tlsProblem: 'certificate is not valid for example.org' }], outcome: 'error', reason: 'certificate is not valid for example.org' };
    has(run(clientEv({ file: f })), 'fail', 'cannot be fetched securely');
  });

  test('content type warning', () => void has(run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } }, { 'content-type': 'text/plain', ...CORS }) })), 'warn', 'Content-Type is "text/plain"'));

  test('consistency: a base_url host that is a typo of the federation host', () => {
    const c = clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://matirx.example.org' } }, JSON_CT), versions: failedFetch('https://matirx.example.org/_matrix/client/versions', NXDOMAIN) });
    has(run(c), 'warn', 'looks like a typo of matrix.example.org');
    // a genuinely different host is not flagged
    const other = clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://chat.example.net' } }, JSON_CT) });
    assert.equal(run(other).filter((f) => f.summary.includes('typo')).length, 0);
  });

  test('consistency: /_matrix in base_url, plain http, port 8448', () => {
    has(run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org/_matrix/client' } }, JSON_CT) })), 'warn', 'contains the /_matrix path');
    has(run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'http://matrix.example.org' } }, JSON_CT) })), 'warn', 'plain http');
    has(run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org:8448' } }, JSON_CT) })), 'info', 'port 8448');
  });

  test('consistency: apex and matrix host serve different copies; identical copies are fine', () => {
    const c = clientEv();
    const copy = (body: unknown): ClientCopiesEvidence => ({
      hostname: 'example.org',
      copies: [{
        host: 'matrix.example.org', roles: ['m.server', 'base_url'],
        server: fetched('https://matrix.example.org/.well-known/matrix/server', res(200, { 'm.server': 'matrix.example.org:443' })),
        client: fetched('https://matrix.example.org/.well-known/matrix/client', res(200, body)),
        support: fetched('https://matrix.example.org/.well-known/matrix/support', res(404)),
      }],
    });
    has(run(c, { copies: copy({ 'm.homeserver': { base_url: 'https://other.example.org' } }) }), 'warn', 'serve different /.well-known/matrix/client');
    const same = run(c, { copies: copy({ 'm.homeserver': { base_url: 'https://matrix.example.org' } }) });
    assert.equal(only(same, 'warn').length, 0, JSON.stringify(same));
    // the server file too (homeservers read only the apex copy)
    const diffServer: ClientCopiesEvidence = copy({ 'm.homeserver': { base_url: 'https://matrix.example.org' } });
    diffServer.copies[0]!.server = fetched('https://matrix.example.org/.well-known/matrix/server', res(200, { 'm.server': 'matrix.example.org:8448' }));
    has(run(c, { copies: diffServer }), 'warn', 'serve different /.well-known/matrix/server');
  });

  test('consistency: the file is only on the matrix host', () => {
    const c = clientEv({ file: res(404) });
    const copies: ClientCopiesEvidence = {
      hostname: 'example.org',
      copies: [{
        host: 'matrix.example.org', roles: ['m.server'],
        server: fetched('https://matrix.example.org/.well-known/matrix/server', res(404)),
        client: fetched('https://matrix.example.org/.well-known/matrix/client', res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } })),
        support: fetched('https://matrix.example.org/.well-known/matrix/support', res(404)),
      }],
    };
    has(run(c, { copies }), 'warn', 'matrix.example.org serves /.well-known/matrix/client, but example.org does not');
  });

  test('skips name the cause', () => {
    assert.match(clientWellKnown.run(evidence({ client: null }))[0]!.summary, /not run: the client discovery probe did not run/);
    assert.match(clientWellKnown.run(evidence({ client: null, extra: { client: { probeError: 'boom' } } }))[0]!.summary, /probe failed \(boom\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// client-versions
// ---------------------------------------------------------------------------------------------

describe('client-versions', () => {
  const run = (c: ClientEvidence) => clientVersions.run(evidence({ client: c }));
  test('pass with the versions', () => void has(run(clientEv()), 'pass', '4 versions: r0.6.1 … v1.12, 1 unstable feature'));
  test('skip when the well-known gives no base_url', () => {
    const f = run(clientEv({ file: res(404) }));
    assert.equal(f[0]!.status, 'skip');
    assert.match(f[0]!.summary, /answered 404/);
  });
  test('fail on 404 with a routing hint', () => {
    const f = has(run(clientEv({ versions: res(404, { errcode: 'M_UNRECOGNIZED' }) })), 'fail', 'HTTP 404 (M_UNRECOGNIZED)');
    assert.match(f.hint!, /forward \/_matrix\/client\//);
  });
  test('fail on connection errors', () => void has(run(clientEv({ versions: failedFetch(VERS, REFUSED) })), 'fail', 'connection refused'));
  test('names the client port when it differs from the federation port', () => {
    const c = clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://client.example.org:8443/' } }, JSON_CT) });
    has(run(c), 'pass', 'through port 8443 (federation uses 443)');
  });
  test('warn when no version looks like vX.Y', () => void has(run(clientEv({ versions: res(200, { versions: ['1.1', 'one'] }) })), 'warn', '2 versions'));
});

// ---------------------------------------------------------------------------------------------
// cors
// ---------------------------------------------------------------------------------------------

describe('cors', () => {
  const run = (c: ClientEvidence) => cors.run(evidence({ client: c }));

  test('all allowed: a single pass', () => {
    const fs = run(clientEv());
    assert.equal(fs.length, 1);
    has(fs, 'pass', 'browser clients allowed');
  });

  test('missing on the file: fail (Element Web cannot discover the server)', () => {
    const fs = run(clientEv({ file: res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } }, JSON_CT) }));
    has(fs, 'fail', 'no Access-Control-Allow-Origin header on https://example.org/.well-known/matrix/client');
  });

  test('missing on a redirect to the file: fail, naming the redirect', () => {
    const file = fetched(WK, res(200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } }, { ...JSON_CT, ...CORS }), ['https://www.example.org/.well-known/matrix/client']);
    file.hops[0]!.exchange.response!.headers = { location: 'https://www.example.org/.well-known/matrix/client' };
    has(run(clientEv({ file })), 'fail', 'on the 302 redirect from https://example.org/.well-known/matrix/client');
  });

  test('missing on the preflight of the client API: fail (cannot log in)', () => {
    const f = has(run(clientEv({ versionsPreflight: res(204) })), 'fail', 'CORS preflight (OPTIONS https://matrix.example.org/_matrix/client/versions');
    assert.match(f.summary, /no Access-Control-Allow-Origin header/);
    assert.match(f.summary, /cannot log in/);
  });

  test('missing on the client API GET: fail', () => void has(run(clientEv({ versions: res(200, VERSIONS, JSON_CT) })), 'fail', 'browsers refuse every client API answer'));

  test('the file preflight refused is only a warning', () => {
    const fs = run(clientEv({ filePreflight: res(405) }));
    has(fs, 'warn', 'preflight (OPTIONS) on https://example.org/.well-known/matrix/client refused');
    assert.equal(only(fs, 'fail').length, 0);
  });

  test('404 file without CORS: info only', () => {
    const fs = run(clientEv({ file: res(404) }));
    has(fs, 'info', 'instead of the 404');
  });

  test('preflight rules of the Fetch standard', () => {
    const pf = (h: Record<string, string>, status = 204) => preflightProblems(ex(VERS, res(status, '', h), null, 'OPTIONS'), ORIGIN);
    assert.deepEqual(pf(CORS), []);
    assert.match(pf({ ...CORS, 'access-control-allow-headers': '*' })[0]!.text, /does not cover Authorization/);
    assert.equal(pf({ ...CORS, 'access-control-allow-methods': '*' }).length, 0);
    assert.match(pf({ ...CORS, 'access-control-allow-methods': 'GET, POST' })[0]!.text, /PUT and DELETE/);
    assert.match(pf(CORS, 405)[0]!.text, /answered HTTP 405/);
    // a server echoing the requested headers is not blamed for Content-Type
    assert.deepEqual(pf({ ...CORS, 'access-control-allow-headers': 'authorization' }), []);
    const noCt = pf({ ...CORS, 'access-control-allow-headers': 'Authorization, X-Requested-With' });
    assert.equal(noCt.length, 1);
    assert.equal(noCt[0]!.severity, 'warn');
    assert.equal(allowOriginProblem(res(200, '', { 'access-control-allow-origin': ORIGIN }), ORIGIN), null);
    assert.match(allowOriginProblem(res(200, '', { 'access-control-allow-origin': 'https://other.example' }), ORIGIN)!, /does not allow/);
    assert.match(allowOriginProblem(res(200, '', { 'access-control-allow-origin': ['*', '*'] }), ORIGIN)!, /2 times/);
  });

  test('skip when the file could not be fetched', () => {
    const fs = run(clientEv({ file: failedFetch(WK, REFUSED) }));
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.status, 'skip');
  });
});

// ---------------------------------------------------------------------------------------------
// support-well-known
// ---------------------------------------------------------------------------------------------

describe('support-well-known', () => {
  const run = (support: HttpResponseEvidence | FollowedFetch) => supportWellKnown.run(evidence({ client: clientEv({ support }) }));
  test('absent → info', () => void has(run(res(404)), 'info', 'absent'));
  test('valid → pass', () => void has(run(res(200, { contacts: [{ role: 'm.role.admin', email_address: 'a@example.org' }] })), 'pass', '1 contact (m.role.admin)'));
  test('invalid → warn', () => void has(run(res(200, { contacts: [] })), 'warn', 'invalid'));
  test('other status → warn', () => void has(run(res(500)), 'warn', 'HTTP 500'));
  test('unreachable → info', () => void has(run(failedFetch(SUPPORT, REFUSED)), 'info', 'connection refused'));
});

// ---------------------------------------------------------------------------------------------
// compatibility
// ---------------------------------------------------------------------------------------------

describe('compatibility (spec §6)', () => {
  const warns = (fs: Finding[]) => fs.filter((f) => f.status === 'warn');
  const impls = (fs: Finding[]) => warns(fs).map((f) => f.summary.split(':')[0]).sort();

  test('all agree: exactly one pass', () => {
    const fs = compatibility.run(evidence());
    assert.equal(fs.length, 1, JSON.stringify(fs));
    has(fs, 'pass', 'agree');
  });

  test('loopback targets: info for Synapse, still a pass', () => {
    const d = discovery({ targets: [target('matrix.example.org', 443, ['127.0.0.3', '::1'])] });
    const fs = compatibility.run(evidence({ discovery: d }));
    has(fs, 'pass', 'agree');
    has(fs, 'info', 'Synapse: its default ip_range_blacklist refuses 127.0.0.3, ::1');
    assert.equal(warns(fs).length, 0);
  });

  test('private targets: warn for Synapse only', () => {
    const d = discovery({ targets: [target('matrix.example.org', 443, ['10.1.2.3', 'fd00::5'])] });
    const fs = compatibility.run(evidence({ discovery: d }));
    has(fs, 'warn', 'Synapse: its default ip_range_blacklist refuses 10.1.2.3 (10.0.0.0/8), fd00::5 (fc00::/7)');
    assert.deepEqual(impls(fs), ['Synapse']);
    assert.equal(fs.some((f) => f.status === 'pass'), false);
    assert.equal(synapseBlockedRange('172.20.0.1'), '172.16.0.0/12');
    assert.equal(synapseBlockedRange('8.8.8.8'), null);
    assert.equal(synapseBlockedRange('2001:db8::1'), '2001:db8::/32');
    assert.equal(synapseBlockedRange('2606:4700:4700::1111'), null);
  });

  test('a well-known answered 202 with a usable body: conduwuit and Conduit delegate', () => {
    const d = discovery({ wkStatus: 202 });
    const fs = compatibility.run(evidence({ discovery: d }));
    assert.deepEqual(impls(fs), ['Conduit', 'conduwuit']);
    has(fs, 'warn', 'conduwuit: accepts the HTTP 202 answer');
  });

  test('a 404 with a delegation in the body: only Conduit reads it', () => {
    const fs = compatibility.run(evidence({ discovery: discovery({ wkStatus: 404 }) }));
    assert.deepEqual(impls(fs), ['Conduit']);
  });

  test('a 404 without a usable body: everyone agrees', () => {
    const fs = compatibility.run(evidence({ discovery: discovery({ wkStatus: 404, wkBody: 'Not Found' }) }));
    assert.deepEqual(impls(fs), []);
  });

  test('body sizes: 12 KiB (conduwuit), 50,000 bytes (Dendrite)', () => {
    const big = (n: number) => JSON.stringify({ 'm.server': 'matrix.example.org:443', pad: 'x'.repeat(n - 50) });
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkBody: big(12_000) }) }))), []);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkBody: big(12_400) }) }))), ['conduwuit']);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkBody: big(50_500) }) }))), ['Dendrite', 'conduwuit']);
  });

  test('redirect counts: >4 conduwuit, ≥10 Go (Dendrite), >10 reqwest (Conduit)', () => {
    const via = (n: number) => Array.from({ length: n }, (_, i) => `https://example.org/hop-${i}`);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkVia: via(4) }) }))), []);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkVia: via(5) }) }))), ['conduwuit']);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkVia: via(9) }) }))), ['conduwuit']);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkVia: via(10) }) }))), ['Dendrite', 'conduwuit']);
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkVia: via(11) }) }))), ['Conduit', 'Dendrite', 'conduwuit']);
  });

  test('invalid m.server: Synapse and Conduit use it verbatim, Dendrite errors, conduwuit falls back like the spec', () => {
    const fs = compatibility.run(evidence({ discovery: discovery({ wkBody: { 'm.server': 'https://matrix.example.org/' } }) }));
    assert.deepEqual(impls(fs), ['Conduit', 'Dendrite', 'Synapse']);
    // not a string: Synapse falls back like the spec; no claim about the others
    assert.deepEqual(impls(compatibility.run(evidence({ discovery: discovery({ wkBody: { 'm.server': 42 } }) }))), []);
  });

  test('several SRV records, the first dead: conduwuit and Conduit', () => {
    const rec = (name: string, priority: number): SrvRecord => ({ priority, weight: 0, port: 8448, name });
    const srv = { host: 'example.org', fed: { name: '_matrix-fed._tcp.example.org', type: 'SRV' as const, outcome: 'ok' as const, srv: [rec('a.example.net', 10), rec('b.example.net', 20)], ms: 1 }, legacy: null, used: 'fed' as const, ordered: [rec('a.example.net', 10), rec('b.example.net', 20)], failed: false, unavailable: false };
    const targets = [target('a.example.net', 8448, ['9.9.9.9'], true), target('b.example.net', 8448, ['9.9.9.10'], true)];
    const resolution: Resolution = { method: 'srv', delegatedServerName: null, hostHeader: 'example.org', tlsServerName: 'example.org', certificateName: 'example.org', targets: targets.map((t) => ({ host: t.host, port: t.port, addresses: t.addresses })) };
    const d = discovery({ srv, targets, resolution, wellKnown: null });
    const dead = compatibility.run(evidence({ discovery: d, addresses: [deadAddress('a.example.net', '9.9.9.9', 8448), okAddress('b.example.net', '9.9.9.10', 8448, 'example.org')] }));
    assert.deepEqual(impls(dead), ['Conduit', 'conduwuit']);
    has(dead, 'warn', 'conduwuit: uses only the first SRV record, a.example.net:8448, which does not answer; Synapse and Dendrite go on to b.example.net:8448');
    const alive = compatibility.run(evidence({ discovery: d, addresses: [okAddress('a.example.net', '9.9.9.9', 8448, 'example.org'), deadAddress('b.example.net', '9.9.9.10', 8448)] }));
    assert.equal(alive.filter((f) => f.summary.includes('first SRV')).length, 0);
    // a failed SRV lookup
    const failed = { ...srv, fed: { ...srv.fed, outcome: 'servfail' as const, srv: [], error: { phase: 'dns' as const, code: 'ESERVFAIL', message: 'SERVFAIL' } }, used: null, ordered: [], failed: true };
    const fd = discovery({ srv: failed, wellKnown: null, targets: [target('example.org', 8448, ['9.9.9.11'])], resolution: { ...resolution, method: 'default-port', targets: [{ host: 'example.org', port: 8448, addresses: ['9.9.9.11'] }] } });
    const ff = compatibility.run(evidence({ discovery: fd }));
    assert.deepEqual(impls(ff), ['Synapse', 'conduwuit']);
    has(ff, 'warn', 'Synapse: a failed SRV lookup of _matrix-fed._tcp.example.org (SERVFAIL)');
  });

  test('Host header: an exact-match rule without the :443 variant', () => {
    const d = discovery();
    assert.equal(conduwuitHostFor(d), 'matrix.example.org');
    const addr = okAddress('matrix.example.org', '8.8.4.4', 443, 'matrix.example.org:443', 503);
    const compat: CompatibilityEvidence = { specHost: 'matrix.example.org:443', conduwuitHost: 'matrix.example.org', probes: [{ target: '8.8.4.4:443', exchange: ex('https://matrix.example.org/_matrix/federation/v1/version', res(200, {})) }] };
    const fs = compatibility.run(evidence({ discovery: d, addresses: [addr], compat }));
    assert.deepEqual(impls(fs), ['Conduit', 'conduwuit']);
    has(fs, 'warn', 'conduwuit: drops the default :443 from the Host header');
    // both accepted: nothing to say
    const same: CompatibilityEvidence = { ...compat, probes: [{ target: '8.8.4.4:443', exchange: ex('https://matrix.example.org/x', res(200, {})) }] };
    const fine = compatibility.run(evidence({ discovery: d, compat: same }));
    assert.deepEqual(impls(fine), []);
  });

  test('the Host header conduwuit and Conduit send (spec §6)', () => {
    const mk = (method: Resolution['method'], hostHeader: string, certificateName: string, host: string, port: number): DiscoveryEvidence =>
      discovery({ resolution: { method, delegatedServerName: null, hostHeader, tlsServerName: null, certificateName, targets: [{ host, port, addresses: ['8.8.4.4'] }] } });
    assert.equal(conduwuitHostFor(mk('ip-literal', '1.2.3.4', '1.2.3.4', '1.2.3.4', 8448)), '1.2.3.4:8448');
    assert.equal(conduwuitHostFor(mk('ip-literal', '[2606:4700:4700::1111]', '2606:4700:4700::1111', '2606:4700:4700::1111', 8448)), '[2606:4700:4700::1111]:8448');
    assert.equal(conduwuitHostFor(mk('srv', 'example.org', 'example.org', 'hs.example.net', 8443)), 'example.org:8443');
    assert.equal(conduwuitHostFor(mk('default-port', 'example.org', 'example.org', 'example.org', 8448)), 'example.org:8448');
    assert.equal(conduwuitHostFor(mk('srv', 'example.org', 'example.org', 'hs.example.net', 443)), null);
    assert.equal(conduwuitHostFor(mk('explicit-port', 'example.org:8443', 'example.org', 'example.org', 8443)), null);
  });

  test('bracketed IPv6 without port: conduwuit and Conduit', () => {
    const p = parsed('[2606:4700:4700::1111]');
    const d = discovery({ parsed: p, wellKnown: null, targets: [target('2606:4700:4700::1111', 8448, ['2606:4700:4700::1111'])], resolution: { method: 'ip-literal', delegatedServerName: null, hostHeader: '[2606:4700:4700::1111]', tlsServerName: null, certificateName: '2606:4700:4700::1111', targets: [{ host: '2606:4700:4700::1111', port: 8448, addresses: ['2606:4700:4700::1111'] }] } });
    const fs = compatibility.run(evidence({ discovery: d }));
    assert.deepEqual(impls(fs), ['Conduit', 'conduwuit']);
    has(fs, 'warn', 'does not recognise the server name [2606:4700:4700::1111]');
    // with a port: no mis-parse line
    const p2 = parsed('[2606:4700:4700::1111]:8448');
    const fs2 = compatibility.run(evidence({ discovery: { ...d, parsed: p2 } }));
    assert.equal(fs2.filter((f) => f.summary.includes('does not recognise')).length, 0);
  });

  test('skip when discovery did not run', () => {
    const fs = compatibility.run(evidence({ discovery: null }));
    assert.equal(fs[0]!.status, 'skip');
  });
});

describe('registry', () => {
  test('the client checks and compatibility are registered, compatibility before federation', () => {
    const ids = checks.map((c) => c.id);
    for (const id of ['client-well-known', 'client-versions', 'cors', 'support-well-known', 'compatibility'] as const) assert.ok(ids.includes(id), id);
    const fed = ids.indexOf('federation');
    if (fed >= 0) assert.equal(ids.indexOf('compatibility'), fed - 1);
  });

  test('the checks never throw on malformed extra evidence', () => {
    const ev = evidence({ client: null, extra: { client: { wellKnown: 'nope' }, 'client-copies': { copies: 'x' }, compatibility: 7 } });
    for (const c of [clientWellKnown, clientVersions, cors, supportWellKnown, compatibility]) {
      const fs = c.run(ev);
      assert.ok(fs.length >= 1);
    }
  });
});
