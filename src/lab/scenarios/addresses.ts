/**
 * Per-address scenarios (issue 3): every resolved address is probed, so each certificate, key
 * response and connection failure is reported against its own `address:port`.
 *
 * Layout, as a real deployment would have it: the server name example.org (web server 127.0.0.2
 * serving /.well-known/matrix/server), delegated to matrix.example.org:443, whose addresses are
 * 127.0.0.3, 127.0.0.4 and ::1. SRV-based scenarios point _matrix-fed._tcp at hs1.example.net:8448.
 */
import type { LabCertSpec, LabHostSpec, LabKeyOverrides, Scenario, ScenarioExpectation } from '../scenario-types.js';
import { homeserver, json, wellKnownHost } from './build.js';

const SN = 'example.org';
const MX = 'matrix.example.org';
const WK = wellKnownHost('127.0.0.2', [SN], json({ 'm.server': `${MX}:443` }));

/** Delegated to matrix.example.org:443 → 127.0.0.3, one homeserver there with `cert`. */
function delegated(
  name: string,
  title: string,
  group: Scenario['group'],
  cert: LabCertSpec,
  expect: ScenarioExpectation,
  extra: { keys?: LabKeyOverrides; host?: Partial<LabHostSpec> } = {},
): Scenario {
  const hs = homeserver('127.0.0.3', 443, SN, cert, extra.host ?? {});
  if (extra.keys) hs.homeserver = { ...hs.homeserver!, keys: extra.keys };
  return {
    name,
    title,
    group,
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3'] } },
    hosts: [WK, hs],
    expect: { method: 'well-known-explicit-port', hostHeader: `${MX}:443`, tlsServerName: MX, ...expect },
  };
}

const T3 = '127.0.0.3:443';
const GOOD: LabCertSpec = { names: [MX] };

export const addressScenarios: Scenario[] = [
  {
    name: 'addresses-healthy',
    title: 'healthy: delegated to matrix.example.org, SRV to hs1.example.net:8448 with two A records and an AAAA — every address passes',
    group: 'healthy',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [MX]: { A: ['127.0.0.9'] },
      [`_matrix-fed._tcp.${MX}`]: { SRV: [{ priority: 10, weight: 10, port: 8448, target: 'hs1.example.net' }] },
      'hs1.example.net': { A: ['127.0.0.3', '127.0.0.4'], AAAA: ['::1'] },
    },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': MX })),
      homeserver('127.0.0.3', 8448, SN, GOOD),
      homeserver('127.0.0.4', 8448, SN, GOOD),
      homeserver('::1', 8448, SN, GOOD),
    ],
    expect: {
      ok: true,
      method: 'well-known-srv',
      hostHeader: MX,
      tlsServerName: MX,
      findings: [
        { id: 'tls', status: 'pass', target: '127.0.0.3:8448', summary: 'days left' },
        { id: 'tls', status: 'pass', target: '127.0.0.4:8448' },
        { id: 'tls', status: 'pass', target: '[::1]:8448' },
        { id: 'federation-version', status: 'pass', target: '[::1]:8448', summary: 'fedcheck-lab' },
        { id: 'server-keys', status: 'pass', target: '127.0.0.4:8448', summary: 'self-signature verified' },
        { id: 'health', status: 'pass', target: '127.0.0.3:8448' },
        { id: 'federation', status: 'pass', summary: 'all 3 addresses' },
      ],
    },
  },

  // ---- certificates ------------------------------------------------------------------------
  delegated('tls-wrong-name', 'the homeserver serves a certificate for another site (chat.example.com)', 'tls', { names: ['chat.example.com'] }, {
    ok: false,
    findings: [
      { id: 'tls', status: 'fail', target: T3, summary: 'certificate is for chat.example.com, not matrix.example.org' },
      { id: 'federation', status: 'fail', summary: 'the only address' },
    ],
  }),
  delegated('tls-cert-for-server-name', 'delegated to matrix.example.org, but its certificate covers only example.org', 'tls', { names: [SN] }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'not for the delegated name matrix.example.org' }],
  }),
  {
    name: 'tls-srv-target-name',
    title: 'found through SRV, the certificate covers only the SRV target hs1.example.net, not example.org',
    group: 'tls',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [`_matrix-fed._tcp.${SN}`]: { SRV: [{ priority: 10, weight: 0, port: 8448, target: 'hs1.example.net' }] },
      'hs1.example.net': { A: ['127.0.0.3'] },
    },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} },
      homeserver('127.0.0.3', 8448, SN, { names: ['hs1.example.net'] }),
    ],
    expect: {
      ok: false,
      method: 'srv',
      hostHeader: SN,
      tlsServerName: SN,
      findings: [{ id: 'tls', status: 'fail', target: '127.0.0.3:8448', summary: 'certificate is for the SRV target hs1.example.net, not for example.org' }],
    },
  },
  delegated('tls-untrusted-ca', 'the certificate is issued by a CA nobody trusts', 'tls', { names: [MX], untrusted: true }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'not trusted' }],
  }),
  delegated('tls-self-signed', 'a self-signed certificate', 'tls', { names: [MX], selfSigned: true }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'self-signed' }],
  }),
  delegated('tls-expired', 'the certificate expired ten days ago', 'tls', { names: [MX], expired: true }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'expired on' }],
  }),
  delegated('tls-not-yet-valid', 'the certificate is valid only from ten days from now', 'tls', { names: [MX], notYetValid: true }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'not valid yet' }],
  }),
  delegated('tls-expiring-soon', 'the certificate expires in 5 days (renewal broken?)', 'tls', { names: [MX], expiresInDays: 5 }, {
    ok: true,
    findings: [
      { id: 'tls', status: 'warn', target: T3, summary: 'expires in 4 days' },
      { id: 'federation', status: 'pass', summary: 'with warnings' },
    ],
  }),
  delegated('tls-missing-intermediate', 'the server sends its certificate without the intermediate CA certificate', 'tls', { names: [MX], omitIntermediate: true }, {
    ok: false,
    findings: [{ id: 'tls', status: 'fail', target: T3, summary: 'missing intermediate' }],
  }),
  {
    name: 'tls-ip-literal-no-ip-san',
    title: 'the server name is the IP 127.0.0.5, but the certificate names only example.org (no IP SAN)',
    group: 'tls',
    serverName: '127.0.0.5',
    zone: {},
    hosts: [homeserver('127.0.0.5', 8448, '127.0.0.5', { names: [SN] })],
    expect: {
      ok: false,
      method: 'ip-literal',
      tlsServerName: null,
      findings: [{ id: 'tls', status: 'fail', target: '127.0.0.5:8448', summary: 'no IP-address entry for 127.0.0.5' }],
    },
  },

  // ---- keys --------------------------------------------------------------------------------
  delegated('keys-unknown-signer', 'the key response is signed by a key that is not in verify_keys', 'keys', GOOD, {
    ok: false,
    findings: [
      { id: 'tls', status: 'pass', target: T3 },
      { id: 'server-keys', status: 'fail', target: T3, summary: 'not signed by any of its own keys' },
    ],
  }, { keys: { signWithUnknownKey: true } }),
  delegated('keys-tampered', 'the key response was changed after signing (valid_until_ts rewritten)', 'keys', GOOD, {
    ok: false,
    findings: [{ id: 'server-keys', status: 'fail', target: T3, summary: 'does not verify' }],
  }, { keys: { tamper: true } }),
  delegated('keys-wrong-server-name', 'the homeserver is configured as matrix.example.org instead of example.org', 'keys', GOOD, {
    ok: false,
    findings: [{ id: 'server-keys', status: 'fail', target: T3, summary: 'server_name is "matrix.example.org", not example.org' }],
  }, { keys: { serverName: MX } }),
  delegated('keys-expired', 'the key response\'s valid_until_ts passed an hour ago (a stale cached copy)', 'keys', GOOD, {
    ok: false,
    findings: [{ id: 'server-keys', status: 'fail', target: T3, summary: 'valid_until_ts expired' }],
  }, { keys: { validUntilOffsetMs: -3600_000 } }),

  // ---- addresses and connections -------------------------------------------------------------
  {
    name: 'addresses-one-a-dead',
    title: 'matrix.example.org has two A records; nothing listens on the second any more',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3', '127.0.0.4'] } },
    hosts: [WK, homeserver('127.0.0.3', 443, SN, GOOD), { address: '127.0.0.4', port: 443, fault: 'refuse' }],
    expect: {
      ok: false,
      targets: [{ host: MX, port: 443, addresses: ['127.0.0.3', '127.0.0.4'] }],
      findings: [
        { id: 'tls', status: 'pass', target: T3 },
        { id: 'tls', status: 'fail', target: '127.0.0.4:443', summary: 'connection refused' },
        { id: 'server-keys', status: 'skip', target: '127.0.0.4:443', summary: 'no connection' },
        { id: 'federation', status: 'fail', summary: 'intermittently' },
      ],
    },
  },
  {
    name: 'addresses-ipv6-broken',
    title: 'IPv6 broken: the AAAA address ::1 refuses connections (proxy listens on IPv4 only) while IPv4 works',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3'], AAAA: ['::1'] } },
    hosts: [WK, homeserver('127.0.0.3', 443, SN, GOOD), { address: '::1', port: 443, fault: 'refuse' }],
    expect: {
      ok: false,
      findings: [
        { id: 'tls', status: 'pass', target: T3 },
        { id: 'federation-version', status: 'pass', target: T3 },
        { id: 'tls', status: 'fail', target: '[::1]:443', summary: 'connection refused' },
        { id: 'federation', status: 'fail', summary: '[::1]:443 (tls)' },
      ],
    },
  },
  {
    name: 'tls-plain-http',
    title: 'port 8448 answers plain HTTP (the homeserver\'s HTTP listener exposed where TLS is expected)',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] } },
    hosts: [{ address: '127.0.0.2', port: 8448, tls: { names: [SN] }, homeserver: { serverName: SN }, fault: 'plain-http-on-tls' }],
    expect: {
      ok: false,
      method: 'default-port',
      findings: [
        { id: 'tls', status: 'fail', target: '127.0.0.2:8448', summary: 'the server answered plain HTTP: TLS is not enabled on this port' },
        { id: 'federation-version', status: 'skip', target: '127.0.0.2:8448', summary: 'no connection' },
      ],
    },
  },
  {
    name: 'addresses-refused',
    title: 'no delegation, no SRV, and nothing listens on port 8448',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] } },
    hosts: [{ address: '127.0.0.2', port: 8448, fault: 'refuse' }],
    expect: {
      ok: false,
      method: 'default-port',
      findings: [
        { id: 'tls', status: 'fail', target: '127.0.0.2:8448', summary: 'connection refused' },
        { id: 'federation', status: 'fail', summary: 'the only address 127.0.0.2:8448 (tls) fails' },
      ],
    },
  },
  {
    name: 'addresses-reset',
    title: 'the second address resets the connection during the TLS handshake',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3', '127.0.0.4'] } },
    hosts: [WK, homeserver('127.0.0.3', 443, SN, GOOD), { address: '127.0.0.4', port: 443, fault: 'reset' }],
    expect: {
      ok: false,
      findings: [
        { id: 'tls', status: 'fail', target: '127.0.0.4:443', summary: 'reset' },
        { id: 'federation', status: 'fail', summary: 'intermittently' },
      ],
    },
  },
  {
    name: 'addresses-silent',
    title: 'the second address accepts TCP connections and never answers (it must not hold up the run)',
    group: 'addresses',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [MX]: { A: ['127.0.0.3', '127.0.0.4'] } },
    hosts: [WK, homeserver('127.0.0.3', 443, SN, GOOD), { address: '127.0.0.4', port: 443, fault: 'silent' }],
    expect: {
      ok: false,
      findings: [
        { id: 'tls', status: 'pass', target: T3 },
        { id: 'server-keys', status: 'pass', target: T3 },
        { id: 'tls', status: 'fail', target: '127.0.0.4:443', summary: 'never completed the TLS handshake' },
        { id: 'federation', status: 'fail', summary: 'intermittently' },
      ],
    },
  },
];
