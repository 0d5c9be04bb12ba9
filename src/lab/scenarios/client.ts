/**
 * Client discovery scenarios (spec §2.3, §2.4; issue 5): every outcome a client can reach with
 * /.well-known/matrix/client, CORS for browser clients, the support file, and the consistency of
 * the deployment.
 *
 * Layout: the server name example.org, whose web server 127.0.0.2:443 serves the well-known files
 * and delegates federation to matrix.example.org:443 (127.0.0.3), a homeserver stand-in that also
 * answers the client API (/_matrix/client/versions) with CORS headers, as Synapse does.
 */
import type { ExpectedFinding, LabHostSpec, LabResponse, Scenario, ScenarioExpectation } from '../scenario-types.js';
import { homeserver, json } from './build.js';

const SN = 'example.org';
const MX = 'matrix.example.org';

/** The CORS headers the spec recommends (spec §2.3). */
export const CLIENT_CORS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
};

export const VERSIONS_BODY = {
  versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'],
  unstable_features: { 'org.matrix.msc3916.stable': true },
};

/** The client API's versions endpoint as Synapse answers it (any method, CORS included). */
export function versionsRoute(): Record<string, LabResponse> {
  return { '/_matrix/client/versions': json(VERSIONS_BODY, CLIENT_CORS) };
}

/** A client well-known served with CORS. */
export function clientFile(body: unknown, headers: Record<string, string> = CLIENT_CORS): LabResponse {
  return json(body, headers);
}

const VALID_CLIENT = { 'm.homeserver': { base_url: `https://${MX}` } };
const VALID_SUPPORT = {
  contacts: [
    { role: 'm.role.admin', matrix_id: `@admin:${SN}`, email_address: `admin@${SN}` },
    { role: 'm.role.security', email_address: `security@${SN}` },
  ],
  support_page: `https://${SN}/support`,
};

interface ClientSetup {
  /** routes of the apex web server besides /.well-known/matrix/server */
  apex?: Record<string, LabResponse>;
  /** routes of the homeserver at matrix.example.org:443 (default: versionsRoute()) */
  hs?: Record<string, LabResponse>;
  hosts?: LabHostSpec[];
  zone?: Scenario['zone'];
}

function scenario(name: string, title: string, setup: ClientSetup, findings: ExpectedFinding[], expect: ScenarioExpectation = {}): Scenario {
  return {
    name,
    title,
    group: 'client',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3'] }, ...(setup.zone ?? {}) },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: { '/.well-known/matrix/server': json({ 'm.server': `${MX}:443` }), ...(setup.apex ?? {}) } },
      homeserver('127.0.0.3', 443, SN, { names: [MX] }, { routes: setup.hs ?? versionsRoute() }),
      ...(setup.hosts ?? []),
    ],
    expect: { method: 'well-known-explicit-port', findings, ...expect },
  };
}

/** Only the client file differs. */
function withClient(name: string, title: string, client: LabResponse, findings: ExpectedFinding[], expect: ScenarioExpectation = {}): Scenario {
  return scenario(name, title, { apex: { '/.well-known/matrix/client': client } }, findings, expect);
}

export const clientScenarios: Scenario[] = [
  scenario('client-valid', 'client discovery: a valid client well-known, CORS everywhere, /versions answers, a valid support file', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT), '/.well-known/matrix/support': json(VALID_SUPPORT, CLIENT_CORS) },
  }, [
    { id: 'client-well-known', status: 'pass', summary: `valid: clients use https://${MX}` },
    { id: 'client-versions', status: 'pass', summary: 'v1.12' },
    { id: 'cors', status: 'pass', summary: 'browser clients allowed' },
    { id: 'support-well-known', status: 'pass', summary: '2 contacts' },
    { id: 'compatibility', status: 'pass', summary: 'agree' },
  ], { ok: true }),

  scenario('client-404', 'client discovery: no client well-known (404) → IGNORE; no support file', {}, [
    { id: 'client-well-known', status: 'info', summary: 'IGNORE' },
    { id: 'client-versions', status: 'skip', summary: 'no base_url' },
    { id: 'cors', status: 'info', summary: 'instead of the 404' },
    { id: 'support-well-known', status: 'info', summary: 'absent' },
  ], { ok: true }),

  withClient('client-500', 'client discovery: the client well-known answers 500 → FAIL_PROMPT', { status: 500, headers: CLIENT_CORS, body: 'Internal Server Error' }, [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: 'HTTP 500' },
    { id: 'client-versions', status: 'skip' },
  ], { ok: false }),

  withClient('client-empty', 'client discovery: the client well-known is empty → FAIL_PROMPT', { status: 200, headers: { ...CLIENT_CORS, 'content-type': 'application/json' }, body: '' }, [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: 'empty' },
  ], { ok: false }),

  withClient('client-not-json', 'client discovery: the client well-known is not JSON (an HTML page) → FAIL_PROMPT', { status: 200, headers: { ...CLIENT_CORS, 'content-type': 'text/html' }, body: '<html><body>Welcome to nginx!</body></html>' }, [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: 'not valid JSON (it looks like an HTML page)' },
    { id: 'client-well-known', status: 'warn', summary: 'Content-Type' },
  ], { ok: false }),

  withClient('client-no-homeserver', 'client discovery: the client well-known has no m.homeserver → FAIL_PROMPT', clientFile({ 'm.server': `${MX}:443` }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: 'no "m.homeserver" key' },
  ], { ok: false }),

  withClient('client-no-base-url', 'client discovery: m.homeserver has no base_url → FAIL_PROMPT', clientFile({ 'm.homeserver': { server_name: SN } }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: 'no "base_url"' },
  ], { ok: false }),

  withClient('client-base-url-not-url', 'client discovery: base_url is a host name, not a URL → FAIL_ERROR', clientFile({ 'm.homeserver': { base_url: MX } }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_ERROR' },
    { id: 'client-well-known', status: 'fail', summary: 'not a URL' },
    { id: 'client-versions', status: 'skip', summary: 'FAIL_ERROR' },
  ], { ok: false }),

  withClient('client-versions-404', 'client discovery: base_url is the apex web server, which has no client API (/versions 404) → FAIL_ERROR', clientFile({ 'm.homeserver': { base_url: `https://${SN}/` } }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_ERROR' },
    { id: 'client-well-known', status: 'fail', summary: `https://${SN}/_matrix/client/versions does not validate` },
    { id: 'client-versions', status: 'fail', summary: 'HTTP 404' },
    { id: 'client-well-known', status: 'warn', summary: 'federation is delegated to matrix.example.org' },
  ], { ok: false }),

  scenario('client-versions-invalid', 'client discovery: /_matrix/client/versions answers 200 with an invalid body → FAIL_ERROR', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
    hs: { '/_matrix/client/versions': json({ versions: 'v1.12' }, CLIENT_CORS) },
  }, [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_ERROR' },
    { id: 'client-versions', status: 'fail', summary: '"versions" is a string, not an array' },
  ], { ok: false }),

  withClient('client-identity-no-base-url', 'client discovery: m.identity_server present without base_url → FAIL_PROMPT', clientFile({ ...VALID_CLIENT, 'm.identity_server': {} }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_PROMPT' },
    { id: 'client-well-known', status: 'fail', summary: '"m.identity_server" is present but has no "base_url"' },
    { id: 'client-versions', status: 'pass' },
  ], { ok: false }),

  withClient('client-identity-broken', 'client discovery: m.identity_server points at a server without the identity API → FAIL_ERROR', clientFile({ ...VALID_CLIENT, 'm.identity_server': { base_url: `https://${MX}` } }), [
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_ERROR' },
    { id: 'client-well-known', status: 'fail', summary: 'identity server' },
  ], { ok: false }),

  withClient('client-content-type', 'client discovery: a valid client well-known served as text/plain', clientFile(JSON.stringify(VALID_CLIENT), { ...CLIENT_CORS, 'content-type': 'text/plain' }), [
    { id: 'client-well-known', status: 'pass', summary: 'valid' },
    { id: 'client-well-known', status: 'warn', summary: 'Content-Type is "text/plain"' },
  ], { ok: true }),

  withClient('client-cors-missing-file', 'CORS: the client well-known has no Access-Control-Allow-Origin (Element Web cannot discover the server)', json(VALID_CLIENT), [
    { id: 'client-well-known', status: 'pass', summary: 'valid' },
    { id: 'cors', status: 'fail', summary: 'no Access-Control-Allow-Origin header on https://example.org/.well-known/matrix/client' },
    { id: 'cors', status: 'warn', summary: 'preflight (OPTIONS) on https://example.org/.well-known/matrix/client refused' },
  ], { ok: false }),

  scenario('client-cors-missing-preflight', 'CORS: the proxy answers the preflight (OPTIONS) on the client API itself, without CORS headers (Element Web cannot log in)', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
    hs: { ...versionsRoute(), 'OPTIONS /_matrix/client/versions': { status: 204 } },
  }, [
    { id: 'client-versions', status: 'pass' },
    { id: 'cors', status: 'fail', summary: 'CORS preflight (OPTIONS https://matrix.example.org/_matrix/client/versions' },
    { id: 'cors', status: 'fail', summary: 'no Access-Control-Allow-Origin header' },
  ], { ok: false }),

  scenario('client-cors-wildcard-headers', 'CORS: the preflight allows headers "*", which does not cover Authorization', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
    hs: { ...versionsRoute(), 'OPTIONS /_matrix/client/versions': { status: 204, headers: { ...CLIENT_CORS, 'access-control-allow-headers': '*' } } },
  }, [
    { id: 'cors', status: 'fail', summary: 'does not cover Authorization' },
  ], { ok: false }),

  scenario('support-invalid', 'support file: /.well-known/matrix/support is present but invalid', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT), '/.well-known/matrix/support': json({ contacts: [{ matrix_id: 'admin' }] }) },
  }, [
    { id: 'support-well-known', status: 'warn', summary: 'invalid' },
    { id: 'support-well-known', status: 'warn', summary: 'has no "role"' },
  ], { ok: true }),

  scenario('support-absent', 'support file: absent (404) next to a valid client setup', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
  }, [
    { id: 'client-well-known', status: 'pass' },
    { id: 'support-well-known', status: 'info', summary: 'absent' },
  ], { ok: true }),

  scenario('client-base-url-port', 'client discovery: the client API is on its own host and port (client.example.org:8443), federation on matrix.example.org:443', {
    apex: { '/.well-known/matrix/client': clientFile({ 'm.homeserver': { base_url: 'https://client.example.org:8443' } }) },
    zone: { 'client.example.org': { A: ['127.0.0.4'] } },
    hosts: [{ address: '127.0.0.4', port: 8443, tls: { names: ['client.example.org'] }, routes: versionsRoute() }],
  }, [
    { id: 'client-well-known', status: 'pass', summary: 'valid: clients use https://client.example.org:8443' },
    { id: 'client-versions', status: 'pass', summary: 'through port 8443 (federation uses 443)' },
    { id: 'cors', status: 'pass' },
  ], { ok: true }),

  withClient('client-base-url-typo', 'consistency: base_url host is a typo of the federation host', clientFile({ 'm.homeserver': { base_url: 'https://matirx.example.org' } }), [
    { id: 'client-well-known', status: 'warn', summary: 'looks like a typo of matrix.example.org' },
    { id: 'client-well-known', status: 'fail', summary: 'FAIL_ERROR' },
    { id: 'client-versions', status: 'fail' },
  ], { ok: false }),

  scenario('client-copies-differ', 'consistency: example.org and matrix.example.org serve different copies of the client well-known', {
    apex: { '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
    hs: { ...versionsRoute(), '/.well-known/matrix/client': clientFile({ 'm.homeserver': { base_url: `https://${MX}:8448` } }) },
  }, [
    { id: 'client-well-known', status: 'pass' },
    { id: 'client-well-known', status: 'warn', summary: 'serve different /.well-known/matrix/client' },
  ], { ok: true }),

  scenario('client-only-on-matrix-host', 'consistency: only matrix.example.org serves the client well-known; clients look on example.org', {
    hs: { ...versionsRoute(), '/.well-known/matrix/client': clientFile(VALID_CLIENT) },
  }, [
    { id: 'client-well-known', status: 'info', summary: 'IGNORE' },
    { id: 'client-well-known', status: 'warn', summary: `${MX} serves /.well-known/matrix/client, but ${SN} does not` },
  ], { ok: true }),
];
