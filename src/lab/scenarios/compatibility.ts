/**
 * Compatibility scenarios (spec §6; issue 5): setups on which Synapse, Dendrite, conduwuit and
 * Conduit would behave differently, one per case, and a clean setup on which they agree.
 *
 * Layout: the server name example.org (web server 127.0.0.2:443), usually delegated to
 * matrix.example.org:443 (127.0.0.3); a homeserver also listens on example.org:8448 wherever the
 * spec's fallback is what fedcheck follows, so that the difference is the only thing that fails.
 */
import type { ExpectedFinding, LabHostSpec, LabResponse, Scenario, ScenarioExpectation } from '../scenario-types.js';
import { homeserver, json } from './build.js';

const SN = 'example.org';
const MX = 'matrix.example.org';
const DELEGATION = { 'm.server': `${MX}:443` };

function delegatedTo(name: string, title: string, wk: Record<string, LabResponse>, findings: ExpectedFinding[], more: { hosts?: LabHostSpec[]; zone?: Scenario['zone']; expect?: ScenarioExpectation; hs?: Partial<LabHostSpec> } = {}): Scenario {
  return {
    name,
    title,
    group: 'compatibility',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3'] }, ...(more.zone ?? {}) },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: wk },
      homeserver('127.0.0.3', 443, SN, { names: [MX] }, more.hs ?? {}),
      ...(more.hosts ?? []),
    ],
    expect: { findings, ...(more.expect ?? {}) },
  };
}

/** `count` redirects on the apex before the file is served. */
function redirectChain(count: number, body: unknown): Record<string, LabResponse> {
  const routes: Record<string, LabResponse> = {};
  let path = '/.well-known/matrix/server';
  for (let i = 1; i <= count; i++) {
    const next = `/.well-known/matrix/hop-${i}`;
    routes[path] = { status: 302, redirect: `https://${SN}${next}` };
    path = next;
  }
  routes[path] = json(body);
  return routes;
}

/** A homeserver on example.org:8448 for the spec's fallback path. */
const FALLBACK = homeserver('127.0.0.2', 8448, SN, { names: [SN] });

export const compatibilityScenarios: Scenario[] = [
  delegatedTo('compat-clean', 'compatibility: a clean delegation on which every implementation agrees (loopback noted for Synapse)', { '/.well-known/matrix/server': json(DELEGATION) }, [
    { id: 'compatibility', status: 'pass', summary: 'Synapse, Dendrite, conduwuit and Conduit agree' },
    { id: 'compatibility', status: 'info', summary: 'Synapse: its default ip_range_blacklist refuses 127.0.0.3 (loopback: 127.0.0.0/8, ::1) — fine for a lab, fatal in production' },
  ], { expect: { ok: true, method: 'well-known-explicit-port' } }),

  delegatedTo('compat-wk-202', 'compatibility: the server well-known answers 202 (conduwuit takes any 2xx, Conduit any status; Synapse and Dendrite only 200)', { '/.well-known/matrix/server': { status: 202, body: DELEGATION } }, [
    { id: 'compatibility', status: 'warn', summary: 'conduwuit: accepts the HTTP 202 answer' },
    { id: 'compatibility', status: 'warn', summary: 'Conduit: parses the body of the HTTP 202 answer' },
  ], { hosts: [FALLBACK], expect: { method: 'default-port' } }),

  delegatedTo('compat-wk-404-body', 'compatibility: the server well-known answers 404 with a delegation in the body (only Conduit reads it)', { '/.well-known/matrix/server': { status: 404, body: DELEGATION } }, [
    { id: 'compatibility', status: 'warn', summary: 'Conduit: parses the body of the HTTP 404 answer' },
  ], { hosts: [FALLBACK], expect: { method: 'default-port' } }),

  delegatedTo('compat-wk-12k', 'compatibility: the server well-known is 13,000 bytes (conduwuit rejects 12 KiB and more)', {
    '/.well-known/matrix/server': json(JSON.stringify({ ...DELEGATION, padding: 'x'.repeat(13_000 - 60) })),
  }, [
    { id: 'compatibility', status: 'warn', summary: 'conduwuit: rejects the' },
  ], { hosts: [FALLBACK], expect: { method: 'well-known-explicit-port' } }),

  delegatedTo('compat-wk-redirects-5', 'compatibility: the server well-known is reached after 5 redirects (conduwuit follows 4)', redirectChain(5, DELEGATION), [
    { id: 'compatibility', status: 'warn', summary: 'conduwuit: gives up on /.well-known/matrix/server after its 5 redirects' },
  ], { hosts: [FALLBACK], expect: { method: 'well-known-explicit-port' } }),

  delegatedTo('compat-wk-redirects-10', 'compatibility: the server well-known is reached after 10 redirects (Go stops at the 10th; reqwest follows 10)', redirectChain(10, DELEGATION), [
    { id: 'compatibility', status: 'warn', summary: 'conduwuit: gives up' },
    { id: 'compatibility', status: 'warn', summary: "Dendrite: gives up on /.well-known/matrix/server after its 10 redirects (Go's http.Client" },
  ], { hosts: [FALLBACK], expect: { method: 'well-known-explicit-port' } }),

  delegatedTo('compat-invalid-m-server', 'compatibility: m.server is invalid (Synapse and Conduit use it verbatim, Dendrite errors, conduwuit falls back like the spec)', { '/.well-known/matrix/server': json({ 'm.server': `${MX}:https` }) }, [
    { id: 'compatibility', status: 'warn', summary: 'Synapse: does not validate m.server' },
    { id: 'compatibility', status: 'warn', summary: 'Dendrite: validates m.server' },
    { id: 'compatibility', status: 'warn', summary: 'Conduit: does not validate m.server' },
  ], { hosts: [FALLBACK], expect: { method: 'default-port' } }),

  delegatedTo('compat-host-443', 'compatibility: the proxy routes on an exact Host "matrix.example.org" without the ":443" variant (HAProxy hdr(host) -i; Synapse PR #11128)', { '/.well-known/matrix/server': json(DELEGATION) }, [
    { id: 'compatibility', status: 'warn', summary: 'conduwuit: drops the default :443 from the Host header' },
    { id: 'compatibility', status: 'warn', summary: 'Conduit: drops the default :443' },
  ], { hs: { acceptHosts: [MX] }, expect: { method: 'well-known-explicit-port', hostHeader: `${MX}:443` } }),

  {
    name: 'compat-srv-first-dead',
    title: 'compatibility: two _matrix-fed SRV records, the first target is dead (conduwuit and Conduit use only the first)',
    group: 'compatibility',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [`_matrix-fed._tcp.${SN}`]: {
        SRV: [
          { priority: 10, weight: 0, port: 8448, target: 'a.example.net' },
          { priority: 20, weight: 0, port: 8448, target: 'b.example.net' },
        ],
      },
      'a.example.net': { A: ['127.0.0.3'] },
      'b.example.net': { A: ['127.0.0.4'] },
    },
    hosts: [homeserver('127.0.0.4', 8448, SN, { names: [SN] })],
    expect: {
      method: 'srv',
      findings: [
        { id: 'compatibility', status: 'warn', summary: 'conduwuit: uses only the first SRV record, a.example.net:8448, which does not answer' },
        { id: 'compatibility', status: 'warn', summary: 'Conduit: uses only the first SRV record' },
      ],
    },
  },

  {
    name: 'compat-srv-servfail',
    title: 'compatibility: the SRV lookup fails with SERVFAIL (Synapse and conduwuit stop; Dendrite and Conduit use port 8448)',
    group: 'compatibility',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [`_matrix-fed._tcp.${SN}`]: { fault: 'servfail' } },
    hosts: [FALLBACK],
    expect: {
      method: 'default-port',
      findings: [
        { id: 'compatibility', status: 'warn', summary: 'Synapse: a failed SRV lookup' },
        { id: 'compatibility', status: 'warn', summary: 'conduwuit: a failed SRV lookup' },
      ],
    },
  },

  delegatedTo('compat-private-address', 'compatibility: the delegated host resolves to a private address (10.0.0.5) that a default Synapse refuses', { '/.well-known/matrix/server': json(DELEGATION) }, [
    { id: 'compatibility', status: 'warn', summary: 'Synapse: its default ip_range_blacklist refuses 10.0.0.5 (10.0.0.0/8)' },
  ], { zone: { [MX]: { A: ['10.0.0.5'] } }, hs: { address: '10.0.0.5' }, expect: { method: 'well-known-explicit-port', targets: [{ host: MX, port: 443, addresses: ['10.0.0.5'] }] } }),

  {
    name: 'compat-ipv6-no-port',
    title: 'compatibility: the server name is a bracketed IPv6 literal without port (conduwuit and Conduit mis-parse it)',
    group: 'compatibility',
    serverName: '[::1]',
    zone: {},
    hosts: [homeserver('::1', 8448, '[::1]', { ips: ['::1'] })],
    expect: {
      method: 'ip-literal',
      hostHeader: '[::1]',
      findings: [
        { id: 'compatibility', status: 'warn', summary: 'conduwuit: does not recognise the server name [::1]' },
        { id: 'compatibility', status: 'warn', summary: 'Conduit: does not recognise' },
      ],
    },
  },
];
