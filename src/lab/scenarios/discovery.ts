/**
 * Discovery scenarios: one per step of spec §1.1, and the well-known / SRV / DNS failures.
 * Server name example.org; its web server 127.0.0.2; homeservers 127.0.0.3+ and ::1.
 */
import type { Scenario } from '../scenario-types.js';
import { homeserver, json, wellKnownHost } from './build.js';
import { clientFile, versionsRoute } from './client.js';

const SN = 'example.org';

/** The well-known answers `resp`; a homeserver also listens on example.org:8448 so fall-through works. */
function wellKnownFailure(name: string, title: string, resp: Scenario['hosts'][number]['routes'], expectStatus: 'fail' | 'warn' | 'info', summary: string, extraHosts: Scenario['hosts'] = []): Scenario {
  return {
    name,
    title,
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'] }, 'www.example.org': { A: ['127.0.0.7'] } },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: resp! },
      homeserver('127.0.0.2', 8448, SN, { names: [SN] }),
      ...extraHosts,
    ],
    expect: {
      ok: expectStatus !== 'fail',
      method: 'default-port',
      hostHeader: SN,
      tlsServerName: SN,
      targets: [{ host: SN, port: 8448, addresses: ['127.0.0.2'] }],
      findings: [{ id: 'well-known', status: expectStatus, summary }],
    },
  };
}

export const discoveryScenarios: Scenario[] = [
  {
    name: 'healthy',
    title: 'healthy: delegated with /.well-known/matrix/server to matrix.example.org:443 (IPv4 and IPv6)',
    group: 'healthy',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      'matrix.example.org': { A: ['127.0.0.3'], AAAA: ['::1'] },
    },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': 'matrix.example.org:443' }), { '/.well-known/matrix/client': clientFile({ 'm.homeserver': { base_url: 'https://matrix.example.org' } }) }),
      // a reverse proxy configured as the deployment docs recommend, the stand-in backend behind
      { address: '127.0.0.3', port: 443, tls: { names: ['matrix.example.org'] }, proxy: { serverName: SN } },
      { address: '::1', port: 443, tls: { names: ['matrix.example.org'] }, proxy: { serverName: SN } },
    ],
    expect: {
      ok: true,
      method: 'well-known-explicit-port',
      delegatedServerName: 'matrix.example.org:443',
      hostHeader: 'matrix.example.org:443',
      tlsServerName: 'matrix.example.org',
      targets: [{ host: 'matrix.example.org', port: 443, addresses: ['127.0.0.3', '::1'] }],
      findings: [{ id: 'well-known', status: 'pass', summary: 'delegates to matrix.example.org:443' }],
    },
  },
  {
    name: 'ip-literal',
    title: 'step 1: the server name is an IPv4 literal (certificate for the IP, no SNI, port 8448)',
    group: 'discovery',
    serverName: '127.0.0.5',
    zone: {},
    hosts: [homeserver('127.0.0.5', 8448, '127.0.0.5', { ips: ['127.0.0.5'] })],
    expect: { ok: true, method: 'ip-literal', hostHeader: '127.0.0.5', tlsServerName: null, delegatedServerName: null, targets: [{ host: '127.0.0.5', port: 8448, addresses: ['127.0.0.5'] }] },
  },
  {
    name: 'ipv6-literal-port',
    title: 'step 1: the server name is a bracketed IPv6 literal with a port',
    group: 'discovery',
    serverName: '[::1]:8449',
    zone: {},
    hosts: [homeserver('::1', 8449, '[::1]:8449', { ips: ['::1'] })],
    expect: { ok: true, method: 'ip-literal', hostHeader: '[::1]:8449', tlsServerName: null, targets: [{ host: '::1', port: 8449, addresses: ['::1'] }] },
  },
  {
    name: 'explicit-port',
    title: 'step 2: hostname with an explicit port (no well-known, no SRV)',
    group: 'discovery',
    serverName: 'example.org:8443',
    zone: { 'example.org': { A: ['127.0.0.3'] } },
    hosts: [homeserver('127.0.0.3', 8443, 'example.org:8443', { names: [SN] })],
    expect: { ok: true, method: 'explicit-port', hostHeader: 'example.org:8443', tlsServerName: SN, targets: [{ host: SN, port: 8443, addresses: ['127.0.0.3'] }] },
  },
  {
    name: 'well-known-ip-literal',
    title: 'step 3.1: the well-known delegates to an IP literal with a port',
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'] } },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': '127.0.0.6:8449' })),
      homeserver('127.0.0.6', 8449, SN, { ips: ['127.0.0.6'] }),
    ],
    expect: { ok: true, method: 'well-known-ip-literal', delegatedServerName: '127.0.0.6:8449', hostHeader: '127.0.0.6:8449', tlsServerName: null, targets: [{ host: '127.0.0.6', port: 8449, addresses: ['127.0.0.6'] }] },
  },
  {
    name: 'well-known-srv',
    title: 'step 3.3: the well-known delegates to a name without port, which has a _matrix-fed SRV record',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      'matrix.example.org': { A: ['127.0.0.9'] },
      '_matrix-fed._tcp.matrix.example.org': { SRV: [{ priority: 10, weight: 5, port: 8443, target: 'hs1.example.net' }] },
      'hs1.example.net': { A: ['127.0.0.4'] },
    },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': 'matrix.example.org' })),
      homeserver('127.0.0.4', 8443, SN, { names: ['matrix.example.org'] }),
    ],
    expect: { ok: true, method: 'well-known-srv', delegatedServerName: 'matrix.example.org', hostHeader: 'matrix.example.org', tlsServerName: 'matrix.example.org', targets: [{ host: 'hs1.example.net', port: 8443, addresses: ['127.0.0.4'] }] },
  },
  {
    name: 'well-known-srv-legacy',
    title: 'step 3.4: delegated name has only the deprecated _matrix._tcp SRV record',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      'matrix.example.org': { A: ['127.0.0.9'] },
      '_matrix._tcp.matrix.example.org': { SRV: [{ priority: 10, weight: 5, port: 8443, target: 'hs1.example.net' }] },
      'hs1.example.net': { A: ['127.0.0.4'] },
    },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': 'matrix.example.org' })),
      homeserver('127.0.0.4', 8443, SN, { names: ['matrix.example.org'] }),
    ],
    expect: {
      ok: true, method: 'well-known-srv-legacy', delegatedServerName: 'matrix.example.org', hostHeader: 'matrix.example.org', tlsServerName: 'matrix.example.org',
      targets: [{ host: 'hs1.example.net', port: 8443, addresses: ['127.0.0.4'] }],
      findings: [{ id: 'srv', status: 'warn', summary: 'deprecated' }],
    },
  },
  {
    name: 'well-known-default-port',
    title: 'step 3.5: delegated name without port and without SRV: port 8448',
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'] }, 'matrix.example.org': { A: ['127.0.0.3'] } },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], json({ 'm.server': 'matrix.example.org' })),
      homeserver('127.0.0.3', 8448, SN, { names: ['matrix.example.org'] }),
    ],
    expect: { ok: true, method: 'well-known-default-port', delegatedServerName: 'matrix.example.org', hostHeader: 'matrix.example.org', tlsServerName: 'matrix.example.org', targets: [{ host: 'matrix.example.org', port: 8448, addresses: ['127.0.0.3'] }] },
  },
  {
    name: 'srv',
    title: 'step 4: no well-known (404); two _matrix-fed SRV records tried in priority order',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      '_matrix-fed._tcp.example.org': {
        SRV: [
          { priority: 20, weight: 0, port: 8448, target: 'b.example.net' },
          { priority: 10, weight: 0, port: 8448, target: 'a.example.net' },
        ],
      },
      'a.example.net': { A: ['127.0.0.3'] },
      'b.example.net': { A: ['127.0.0.4'] },
    },
    hosts: [
      { address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} },
      homeserver('127.0.0.3', 8448, SN, { names: [SN] }),
      homeserver('127.0.0.4', 8448, SN, { names: [SN] }),
    ],
    expect: {
      ok: true, method: 'srv', delegatedServerName: null, hostHeader: SN, tlsServerName: SN,
      targets: [{ host: 'a.example.net', port: 8448, addresses: ['127.0.0.3'] }, { host: 'b.example.net', port: 8448, addresses: ['127.0.0.4'] }],
      findings: [{ id: 'well-known', status: 'info', summary: '404' }, { id: 'srv', status: 'pass' }],
    },
  },
  {
    name: 'srv-legacy',
    title: 'step 5: no well-known; only the deprecated _matrix._tcp SRV record',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      '_matrix._tcp.example.org': { SRV: [{ priority: 10, weight: 0, port: 8448, target: 'a.example.net' }] },
      'a.example.net': { A: ['127.0.0.3'] },
    },
    hosts: [homeserver('127.0.0.3', 8448, SN, { names: [SN] })],
    expect: {
      ok: true, method: 'srv-legacy', hostHeader: SN, tlsServerName: SN,
      targets: [{ host: 'a.example.net', port: 8448, addresses: ['127.0.0.3'] }],
      findings: [{ id: 'srv', status: 'warn', summary: 'deprecated' }, { id: 'well-known', status: 'info' }],
    },
  },
  {
    name: 'default-port',
    title: 'step 6: no well-known, no SRV: the server name itself on port 8448',
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'], AAAA: ['::1'] } },
    hosts: [homeserver('127.0.0.2', 8448, SN, { names: [SN] }), homeserver('::1', 8448, SN, { names: [SN] })],
    expect: {
      ok: true, method: 'default-port', hostHeader: SN, tlsServerName: SN,
      targets: [{ host: SN, port: 8448, addresses: ['127.0.0.2', '::1'] }],
      findings: [{ id: 'srv', status: 'info', summary: 'no SRV records' }],
    },
  },
  wellKnownFailure('well-known-500', 'the well-known answers 500: falls through to SRV / 8448', { '/.well-known/matrix/server': { status: 500, body: 'oops' } }, 'warn', '500'),
  wellKnownFailure('well-known-invalid-json', 'the well-known is not valid JSON', { '/.well-known/matrix/server': { status: 200, headers: { 'content-type': 'application/json' }, body: '{"m.server": "matrix.example.org:443",}' } }, 'fail', 'invalid'),
  wellKnownFailure('well-known-bad-m-server', 'm.server is a URL, not a server name', { '/.well-known/matrix/server': json({ 'm.server': 'https://matrix.example.org/' }) }, 'fail', 'invalid'),
  wellKnownFailure('well-known-too-large', 'the well-known body is over the 50 KiB cap', { '/.well-known/matrix/server': json(JSON.stringify({ 'm.server': 'matrix.example.org:443', padding: 'x'.repeat(60 * 1024) })) }, 'fail', '50 KiB'),
  wellKnownFailure('well-known-redirect-loop', 'the well-known redirects in a loop', {
    '/.well-known/matrix/server': { redirect: 'https://example.org/.well-known/matrix/other' },
    '/.well-known/matrix/other': { redirect: 'https://example.org/.well-known/matrix/server' },
  }, 'fail', 'loop'),
  wellKnownFailure('well-known-redirect-http', 'the well-known redirects to plain http://', { '/.well-known/matrix/server': { status: 301, redirect: 'http://www.example.org/.well-known/matrix/server' } }, 'fail', 'plain http'),
  {
    name: 'well-known-redirect-ok',
    title: 'the apex redirects to www, where the well-known is served (followed, as homeservers do)',
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'] }, 'www.example.org': { A: ['127.0.0.7'] }, 'matrix.example.org': { A: ['127.0.0.3'] } },
    hosts: [
      wellKnownHost('127.0.0.2', [SN], { status: 301, redirect: 'https://www.example.org/.well-known/matrix/server' }),
      wellKnownHost('127.0.0.7', ['www.example.org'], json({ 'm.server': 'matrix.example.org:443' })),
      homeserver('127.0.0.3', 443, SN, { names: ['matrix.example.org'] }),
    ],
    expect: { ok: true, method: 'well-known-explicit-port', hostHeader: 'matrix.example.org:443', findings: [{ id: 'well-known', status: 'pass', summary: 'after 1 redirect' }] },
  },
  {
    name: 'srv-target-dot',
    title: 'the _matrix-fed SRV record has target "." (service unavailable)',
    group: 'discovery',
    serverName: SN,
    zone: { 'example.org': { A: ['127.0.0.2'] }, '_matrix-fed._tcp.example.org': { SRV: [{ priority: 0, weight: 0, port: 0, target: '.' }] } },
    hosts: [],
    expect: { ok: false, method: 'srv', targets: [], findings: [{ id: 'srv', status: 'fail', summary: 'unavailable' }, { id: 'dns', status: 'skip' }] },
  },
  {
    name: 'srv-target-cname',
    title: 'the SRV target is a CNAME (forbidden by RFC 2782, tolerated by Synapse)',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      '_matrix-fed._tcp.example.org': { SRV: [{ priority: 10, weight: 0, port: 8448, target: 'alias.example.net' }] },
      'alias.example.net': { CNAME: 'hs1.example.net' },
      'hs1.example.net': { A: ['127.0.0.3'] },
    },
    hosts: [homeserver('127.0.0.3', 8448, SN, { names: [SN] })],
    expect: { ok: true, method: 'srv', targets: [{ host: 'alias.example.net', port: 8448, addresses: ['127.0.0.3'] }], findings: [{ id: 'srv', status: 'warn', summary: 'CNAME' }] },
  },
  {
    name: 'srv-servfail',
    title: 'the SRV lookup fails with SERVFAIL (not the same as "no record")',
    group: 'discovery',
    serverName: SN,
    zone: {
      'example.org': { A: ['127.0.0.2'] },
      '_matrix-fed._tcp.example.org': { fault: 'servfail' },
    },
    hosts: [homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
    expect: { ok: false, method: 'default-port', findings: [{ id: 'srv', status: 'fail', summary: 'SERVFAIL' }] },
  },
  {
    name: 'no-records',
    title: 'the server name does not exist in DNS at all',
    group: 'discovery',
    serverName: 'nonexistent.example.org',
    zone: {},
    hosts: [],
    expect: { ok: false, method: 'default-port', targets: [{ host: 'nonexistent.example.org', port: 8448, addresses: [] }], findings: [{ id: 'dns', status: 'fail', summary: 'NXDOMAIN' }, { id: 'well-known', status: 'info' }] },
  },
];
