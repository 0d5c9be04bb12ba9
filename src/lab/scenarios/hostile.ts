/**
 * Hostile and broken servers that the declarative lab can express: hostile values in the
 * well-known, hostile redirects, broken JSON, DNS faults and certificate-name edge cases. Each
 * must leave fedcheck finishing in time, naming the problem on the right check, and printing no
 * control character the server sent. Behaviours below the HTTP layer (dripping bytes, lying
 * Content-Length, 1xx forever, 100-certificate chains, TLS 1.0, 10,000 SRV records, …) need raw
 * servers (src/lab/hostile/) and are driven from test/hostile/ instead of the demo list.
 *
 * Layout unless said otherwise: server name example.org (127.0.0.2), its web server on 443, and a
 * healthy homeserver on 127.0.0.2:8448 so that discovery can fall through to port 8448.
 *
 * Redirect policy (probes/well-known.ts): https redirects are followed wherever they go, any port
 * and address literals included, with ordinary X.509 validation for the new host — as Synapse
 * does, and the spec says "follow 30x redirects". Not followed: any other scheme (http:, ftp:,
 * file:, javascript:…), credentials in the URL, port 0. See test/hostile/wander.test.ts.
 */
import type { ExpectedFinding, LabHostSpec, LabResponse, Scenario } from '../scenario-types.js';
import type { Zone } from '../dns-server.js';
import { homeserver, json } from './build.js';

const SN = 'example.org';
const HS: ExpectedFinding = { id: 'federation-version', status: 'pass', target: '127.0.0.2:8448' };

/** The web server at example.org:443 answers `routes`; a healthy homeserver waits on 8448. */
function webHostile(
  name: string,
  title: string,
  routes: Record<string, LabResponse>,
  findings: ExpectedFinding[],
  more: { hosts?: LabHostSpec[]; zone?: Zone; expect?: Scenario['expect'] } = {},
): Scenario {
  return {
    name,
    title,
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, ...(more.zone ?? {}) },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes }, homeserver('127.0.0.2', 8448, SN, { names: [SN] }), ...(more.hosts ?? [])],
    expect: { method: 'default-port', hostHeader: SN, findings: [...findings, HS], ...(more.expect ?? {}) },
  };
}

const WK = '/.well-known/matrix/server';

/** A hostile m.server value: must be rejected (well-known fails) and never used for anything. */
function mServer(name: string, title: string, value: unknown, summary: string): Scenario {
  return webHostile(name, title, { [WK]: json({ 'm.server': value }) }, [{ id: 'well-known', status: 'fail', summary }], {
    // If fedcheck ever used a cleaned-up value it would find this homeserver: it must not.
    zone: { 'matrix.example.org': { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 443, SN, { names: ['matrix.example.org'] }), homeserver('127.0.0.3', 8448, SN, { names: ['matrix.example.org'] })],
  });
}

function redirect(name: string, title: string, location: string, summary: string, status: ExpectedFinding['status'] = 'fail', hosts: LabHostSpec[] = []): Scenario {
  return webHostile(name, title, { [WK]: { status: 302, redirect: location } }, [{ id: 'well-known', status, summary }], { hosts });
}

/** The server name has an explicit port: no well-known, straight to the certificate. */
function certName(name: string, title: string, serverName: string, host: string, names: string[], status: ExpectedFinding['status'], summary: string): Scenario {
  return {
    name,
    title,
    group: 'hostile',
    serverName,
    zone: { [host]: { A: ['127.0.0.3'] } },
    // the homeserver's own name is the normalised (punycode) one
    hosts: [homeserver('127.0.0.3', 8448, `${host}:8448`, { names })],
    expect: { method: 'explicit-port', findings: [{ id: 'tls', status, target: '127.0.0.3:8448', summary }] },
  };
}

/** UTF-8 bytes of `s` as a forge "binary string" (how a certificate would carry raw UTF-8). */
function utf8Bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

const redirectChain: Record<string, LabResponse> = { [WK]: { redirect: '/hop/1' } };
for (let i = 1; i < 30; i++) redirectChain[`/hop/${i}`] = { redirect: `/hop/${i + 1}` };
redirectChain['/hop/30'] = json({ 'm.server': 'matrix.example.org:443' });

const hugeTsKeys =
  '{"server_name":"example.org","valid_until_ts":99999999999999999999999,' +
  '"verify_keys":{"ed25519:a":{"key":"VGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgMzI"}},' +
  '"old_verify_keys":{},"signatures":{"example.org":{"ed25519:a":"c2ln"}}}';

export const hostileScenarios: Scenario[] = [
  // --- values -------------------------------------------------------------------------------
  mServer('hostile-mserver-crlf', 'hostile: m.server with CR/LF and an injected header line', 'matrix.example.org\r\nX-Injected: 1', 'line break'),
  mServer('hostile-mserver-ansi', 'hostile: m.server with ANSI escapes (clear screen, window title)', 'matrix.example.org\u001b[2J\u001b]0;pwned\u0007', 'control'),
  mServer('hostile-mserver-url', 'hostile: m.server is a URL with scheme and path', 'https://matrix.example.org/_matrix/federation', 'not a URL'),
  mServer('hostile-mserver-path', 'hostile: m.server carries a path', 'matrix.example.org:443/federation', 'no path'),
  mServer('hostile-mserver-long', 'hostile: m.server is 300 characters long', `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(55)}.org`, '303 characters'),
  mServer('hostile-mserver-bidi', 'hostile: m.server with a right-to-left override', 'matrix.example.org\u202e344:', 'invisible character'),
  mServer('hostile-mserver-object', 'hostile: m.server is an object', { host: 'matrix.example.org', port: 443 }, 'must be a string'),

  // --- HTTP bodies --------------------------------------------------------------------------
  webHostile('hostile-wk-html', 'hostile: an HTML page where the well-known JSON belongs', {
    [WK]: { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>\u001b[31mWelcome</h1></body></html>' },
  }, [{ id: 'well-known', status: 'fail', summary: 'HTML' }]),
  webHostile('hostile-wk-bom', 'hostile: the well-known starts with a UTF-8 byte-order mark', {
    [WK]: { status: 200, headers: { 'content-type': 'application/json' }, body: '\ufeff{"m.server": "matrix.example.org:443"}' },
  }, [{ id: 'well-known', status: 'fail', summary: 'byte-order mark' }]),
  webHostile('hostile-wk-deep', 'hostile: the well-known is JSON nested 40,000 deep', {
    [WK]: { status: 200, headers: { 'content-type': 'application/json' }, body: '['.repeat(40_000) },
  }, [{ id: 'well-known', status: 'fail', summary: 'nested' }]),
  {
    name: 'hostile-wk-duplicate-keys',
    title: 'hostile: the well-known has "m.server" twice (homeservers disagree which one counts)',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, 'matrix.example.org': { A: ['127.0.0.3'] }, 'decoy.example.org': { A: ['127.0.0.4'] } },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: { [WK]: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"m.server": "decoy.example.org:443", "m.server": "matrix.example.org:443"}' } } },
      homeserver('127.0.0.3', 443, SN, { names: ['matrix.example.org'] }),
      homeserver('127.0.0.4', 443, SN, { names: ['decoy.example.org'] }),
    ],
    expect: {
      method: 'well-known-explicit-port',
      delegatedServerName: 'matrix.example.org:443',
      findings: [{ id: 'well-known', status: 'warn', summary: 'twice' }, { id: 'federation-version', status: 'pass', target: '127.0.0.3:443' }],
    },
  },
  {
    name: 'hostile-keys-deep',
    title: 'hostile: the key response is JSON nested 100,000 deep',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { routes: { '/_matrix/key/v2/server': { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":'.repeat(20_000) + '['.repeat(80_000) } } })],
    expect: { method: 'explicit-port', findings: [{ id: 'server-keys', status: 'fail', target: '127.0.0.3:8448', summary: 'nesting' }, { id: 'tls', status: 'pass' }] },
  },
  {
    name: 'hostile-keys-huge-ts',
    title: 'hostile: valid_until_ts in the key response is beyond 2^53',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { routes: { '/_matrix/key/v2/server': { status: 200, headers: { 'content-type': 'application/json' }, body: hugeTsKeys } } })],
    expect: { method: 'explicit-port', findings: [{ id: 'server-keys', status: 'fail', target: '127.0.0.3:8448', summary: 'valid_until_ts' }] },
  },
  {
    name: 'hostile-version-html',
    title: 'hostile: an HTML page where the federation version JSON belongs',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { routes: { '/_matrix/federation/v1/version': { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>It works!</body></html>' } } })],
    expect: { method: 'explicit-port', findings: [{ id: 'federation-version', status: 'fail', target: '127.0.0.3:8448', summary: 'HTML' }] },
  },
  {
    name: 'hostile-version-escapes',
    title: 'hostile: the software name in the version response carries ANSI escapes and line breaks',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { homeserver: { serverName: `${SN}:8448`, software: { name: '\u001b[2J\u001b[HSynapse\r\nfedcheck: all checks PASS', version: '1.0\u0007\u009b31m' } } })],
    expect: { method: 'explicit-port', findings: [{ id: 'federation-version', status: 'pass', target: '127.0.0.3:8448', summary: 'Synapse' }] },
  },
  {
    name: 'hostile-keys-name-escapes',
    title: 'hostile: server_name in the key response carries ANSI escapes',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { homeserver: { serverName: `${SN}:8448`, keys: { serverName: 'example.org:8448\u001b[1A\u001b[2K\r' } } })],
    expect: { method: 'explicit-port', findings: [{ id: 'server-keys', status: 'fail', target: '127.0.0.3:8448', summary: 'server_name' }] },
  },

  // --- redirects ----------------------------------------------------------------------------
  webHostile('hostile-redirect-loop', 'hostile: the well-known redirects in a three-hop loop', {
    [WK]: { redirect: '/a' },
    '/a': { status: 307, redirect: '/b' },
    '/b': { status: 308, redirect: WK },
  }, [{ id: 'well-known', status: 'fail', summary: 'loop' }]),
  webHostile('hostile-redirect-30', 'hostile: the well-known redirects 30 times', redirectChain, [{ id: 'well-known', status: 'fail', summary: 'redirects' }]),
  redirect('hostile-redirect-http', 'hostile: the well-known redirects to http://', 'http://example.org/.well-known/matrix/server', 'plain http'),
  redirect('hostile-redirect-ftp', 'hostile: the well-known redirects to ftp://', 'ftp://example.org/.well-known/matrix/server', 'ftp'),
  redirect('hostile-redirect-file', 'hostile: the well-known redirects to file:///etc/passwd', 'file:///etc/passwd', 'file'),
  redirect('hostile-redirect-javascript', 'hostile: the well-known redirects to javascript:', 'javascript:alert(document.domain)', 'javascript'),
  redirect('hostile-redirect-credentials', 'hostile: the well-known redirects to a URL with credentials', 'https://admin:hunter2@example.org/.well-known/matrix/other', 'credentials'),
  redirect('hostile-redirect-no-location', 'hostile: a 302 without a Location header', '', 'Location'),
  redirect('hostile-redirect-bad-location', 'hostile: a redirect to an unparseable Location', 'https://exa mple.org/.well-known/matrix/server', 'unparseable'),
  redirect('hostile-redirect-port-zero', 'hostile: the well-known redirects to port 0', 'https://example.org:0/.well-known/matrix/server', 'port 0'),
  redirect('hostile-redirect-ip-literal', 'hostile: the well-known redirects to an address literal (followed, certificate checked for the IP)', 'https://127.0.0.9/.well-known/matrix/server', '127.0.0.9', 'fail', [
    { address: '127.0.0.9', port: 443, tls: { names: [SN] }, routes: { [WK]: json({ 'm.server': 'matrix.example.org:443' }) } },
  ]),
  redirect('hostile-redirect-port-22', 'hostile: the well-known redirects to https://example.org:22/ (followed, like homeservers do; nothing speaks TLS there)', 'https://example.org:22/.well-known/matrix/server', ':22', 'warn', [
    { address: '127.0.0.2', port: 22, routes: {} },
  ]),

  // --- DNS ----------------------------------------------------------------------------------
  {
    name: 'hostile-dns-srv-weights',
    title: 'hostile: SRV weights 0 and 65535 at the same priority',
    group: 'hostile',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [`_matrix-fed._tcp.${SN}`]: { SRV: [{ priority: 5, weight: 0, port: 8448, target: 'zero.example.net' }, { priority: 5, weight: 65535, port: 8448, target: 'heavy.example.net' }] },
      'zero.example.net': { A: ['127.0.0.3'] },
      'heavy.example.net': { A: ['127.0.0.4'] },
    },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.3', 8448, SN, { names: [SN] }), homeserver('127.0.0.4', 8448, SN, { names: [SN] })],
    expect: {
      method: 'srv',
      targets: [{ host: 'heavy.example.net', port: 8448, addresses: ['127.0.0.4'] }, { host: 'zero.example.net', port: 8448, addresses: ['127.0.0.3'] }],
      findings: [{ id: 'srv', status: 'pass', summary: 'weight 65535' }, { id: 'federation-version', status: 'pass', target: '127.0.0.3:8448' }, { id: 'federation-version', status: 'pass', target: '127.0.0.4:8448' }],
    },
  },
  {
    name: 'hostile-dns-cname-chain',
    title: 'hostile: the server name is at the end of a chain of eight CNAMEs',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: {
      [SN]: { CNAME: 'c1.example.net' },
      ...Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`c${i + 1}.example.net`, { CNAME: `c${i + 2}.example.net` }])),
      'c8.example.net': { A: ['127.0.0.3'] },
    },
    hosts: [homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] })],
    expect: { method: 'explicit-port', targets: [{ host: SN, port: 8448, addresses: ['127.0.0.3'] }], findings: [{ id: 'dns', status: 'pass' }, { id: 'tls', status: 'pass' }] },
  },
  {
    name: 'hostile-dns-cname-loop',
    title: 'hostile: the server name is a CNAME loop',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { CNAME: 'loop-a.example.net' }, 'loop-a.example.net': { CNAME: 'loop-b.example.net' }, 'loop-b.example.net': { CNAME: SN } },
    hosts: [],
    expect: { method: 'explicit-port', findings: [{ id: 'dns', status: 'fail', summary: 'CNAME records: a chain that loops' }] },
  },
  {
    name: 'hostile-dns-truncated',
    title: 'hostile: the SRV answer over UDP is truncated (TC): the lookup must retry over TCP',
    group: 'hostile',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [`_matrix-fed._tcp.${SN}`]: { fault: 'truncate', SRV: [{ priority: 1, weight: 1, port: 8448, target: 'hs.example.net' }] },
      'hs.example.net': { A: ['127.0.0.3'] },
    },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.3', 8448, SN, { names: [SN] })],
    expect: { method: 'srv', targets: [{ host: 'hs.example.net', port: 8448, addresses: ['127.0.0.3'] }], findings: [{ id: 'srv', status: 'pass' }] },
  },
  {
    name: 'hostile-dns-malformed',
    title: 'hostile: the SRV answer is a malformed DNS packet',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [`_matrix-fed._tcp.${SN}`]: { fault: 'malformed' } },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
    expect: { method: 'default-port', findings: [{ id: 'srv', status: 'fail', summary: 'malformed' }, HS] },
  },
  {
    name: 'hostile-dns-nxdomain',
    title: 'hostile: NXDOMAIN for the SRV names (no record: fall back to 8448)',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] } },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
    expect: { ok: true, method: 'default-port', findings: [{ id: 'srv', status: 'info', summary: 'NXDOMAIN' }, HS] },
  },
  {
    name: 'hostile-dns-servfail',
    title: 'hostile: SERVFAIL for both SRV names (a failure, not "no record")',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [`_matrix-fed._tcp.${SN}`]: { fault: 'servfail' }, [`_matrix._tcp.${SN}`]: { fault: 'servfail' } },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
    expect: { method: 'default-port', findings: [{ id: 'srv', status: 'fail', summary: 'SERVFAIL' }, HS] },
  },
  {
    name: 'hostile-dns-refused',
    title: 'hostile: REFUSED for the SRV names',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [`_matrix-fed._tcp.${SN}`]: { fault: 'refused' }, [`_matrix._tcp.${SN}`]: { fault: 'refused' } },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
    expect: { method: 'default-port', findings: [{ id: 'srv', status: 'fail', summary: 'refused' }, HS] },
  },
  {
    name: 'hostile-dns-srv-target-escapes',
    title: 'hostile: the SRV target name carries ANSI escape bytes',
    group: 'hostile',
    serverName: SN,
    zone: {
      [SN]: { A: ['127.0.0.2'] },
      [`_matrix-fed._tcp.${SN}`]: { SRV: [{ priority: 1, weight: 1, port: 8448, target: 'hs\u001b[2J\u001b]0;x\u0007.example.net' }] },
    },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }],
    expect: { method: 'srv', findings: [{ id: 'srv', status: 'pass' }, { id: 'dns', status: 'fail', summary: 'is not a valid DNS name' }] },
  },
  {
    name: 'hostile-dns-srv-port-zero',
    title: 'hostile: the SRV record names port 0',
    group: 'hostile',
    serverName: SN,
    zone: { [SN]: { A: ['127.0.0.2'] }, [`_matrix-fed._tcp.${SN}`]: { SRV: [{ priority: 1, weight: 1, port: 0, target: 'hs.example.net' }] }, 'hs.example.net': { A: ['127.0.0.3'] } },
    hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }],
    expect: { method: 'srv', findings: [{ id: 'srv', status: 'fail', summary: 'port 0' }] },
  },

  // --- TLS ----------------------------------------------------------------------------------
  {
    name: 'hostile-tls-stall',
    title: 'hostile: the homeserver accepts TCP and never answers the TLS handshake',
    group: 'hostile',
    serverName: `${SN}:8448`,
    zone: { [SN]: { A: ['127.0.0.3'] } },
    hosts: [{ address: '127.0.0.3', port: 8448, fault: 'tls-stall' }],
    expect: { method: 'explicit-port', findings: [{ id: 'tls', status: 'fail', target: '127.0.0.3:8448', summary: 'TLS' }] },
  },
  certName('hostile-tls-wildcard-deep', 'hostile: certificate *.example.org for a.b.example.org (a wildcard covers one label)', 'a.b.example.org:8448', 'a.b.example.org', ['*.example.org'], 'fail', 'not a.b.example.org'),
  certName('hostile-tls-wildcard-apex', 'hostile: certificate *.example.org for example.org itself', 'example.org:8448', 'example.org', ['*.example.org'], 'fail', 'not example.org'),
  certName('hostile-tls-wildcard-one-label', 'hostile: certificate *.example.org for a.example.org (covered)', 'a.example.org:8448', 'a.example.org', ['*.example.org'], 'pass', 'valid certificate'),
  certName('hostile-tls-idn-raw-utf8', 'hostile: a raw UTF-8 (not punycode) IDN in the certificate', 'xn--bcher-kva.example:8448', 'xn--bcher-kva.example', [utf8Bytes('bücher.example')], 'fail', 'not xn--bcher-kva.example'),
  certName('hostile-tls-idn-punycode', 'hostile: a Unicode server name against a punycode certificate (covered)', 'bücher.example:8448', 'xn--bcher-kva.example', ['xn--bcher-kva.example'], 'pass', 'valid certificate'),
  certName('hostile-tls-san-escapes', 'hostile: the certificate names carry ANSI escapes', 'example.org:8448', 'example.org', [utf8Bytes('evil\u001b[2J\u001b]0;pwn\u0007.example.org'), 'x\r\nFAKE.example.org'], 'fail', 'not example.org'),
];
