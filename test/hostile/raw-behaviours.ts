/**
 * Hostile behaviours below what the declarative lab can express: raw HTTP over TLS, raw DNS,
 * odd TLS servers. Layout unless said otherwise: server name example.org at 127.0.0.2; the
 * misbehaving server is example.org:443 (the well-known); a healthy homeserver listens on
 * 127.0.0.2:8448 so discovery can fall through — and must still be checked and pass: a hostile
 * well-known must not eat the time the rest of the run needs.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { encodeBase64, generateSigningKey, signJson } from '../../src/core/signing.js';
import { homeserver } from '../../src/lab/scenarios/build.js';
import { homeserverHandler } from '../../src/lab/homeserver.js';
import { labCas } from '../../src/lab/deployment.js';
import { createChain, issueCert } from '../../src/lab/ca.js';
import type { Scenario, LabHostSpec } from '../../src/lab/scenario-types.js';
import type { Zone } from '../../src/lab/dns-server.js';
import { drip, flood, head, httpResponder, nodeHttp, response, type RawExchange, type RawTls } from '../../src/lab/hostile/raw-host.js';
import { answer, QTYPE } from '../../src/lab/hostile/dns.js';
import type { HostileDeployment, RawHostSpec } from '../../src/lab/hostile/lab.js';
import type { AnswerRecord } from '../../src/lab/dns-server.js';
import { finding, none, TIMEOUT_MS, type Behaviour, type RunResult } from './harness.js';

const SN = 'example.org';
const WK = '/.well-known/matrix/server';
const GOOD_WK = JSON.stringify({ 'm.server': 'matrix.example.org:443' });

function scenario(name: string, zone: Zone, hosts: LabHostSpec[], serverName = SN): Scenario {
  return { name, title: name, group: 'hostile', serverName, zone, hosts, expect: {} };
}

/** example.org's web server (443) is `onConnection`; a healthy homeserver on 127.0.0.2:8448. */
function webRaw(name: string, respond: (x: RawExchange) => void | Promise<void>): HostileDeployment {
  return {
    scenario: scenario(name, { [SN]: { A: ['127.0.0.2'] } }, [homeserver('127.0.0.2', 8448, SN, { names: [SN] })]),
    raw: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, onConnection: httpResponder(respond) }],
  };
}

/** Only the well-known path misbehaves; everything else (client files…) is a quick 404. */
function onWellKnown(respond: (x: RawExchange) => void | Promise<void>): (x: RawExchange) => void | Promise<void> {
  return (x) => {
    if (x.req.target === WK) return respond(x);
    x.c.write(response(404, 'not found', { 'content-type': 'text/plain' }));
  };
}

/** The well-known failed with this status and summary, and the fall-through homeserver still passed. */
function wellKnownThenFallback(status: 'fail' | 'warn' | 'info' | Array<'fail' | 'warn' | 'info'>, summary: RegExp) {
  return (r: RunResult) => {
    finding(r.report, 'well-known', status, summary);
    assert.equal(r.report.resolution?.method, 'default-port');
    finding(r.report, 'tls', 'pass', undefined, '127.0.0.2:8448');
    finding(r.report, 'federation-version', 'pass', undefined, '127.0.0.2:8448');
    finding(r.report, 'server-keys', 'pass', undefined, '127.0.0.2:8448');
  };
}

const TIMED_OUT = /within|time|stall/i;

// ---------------------------------------------------------------------------------------------
// TLS material that is slow to mint: built once, on first use (in the harness's before hook)
// ---------------------------------------------------------------------------------------------

/** A leaf under 99 intermediates: 100 certificates sent, and the root to trust. */
function chainOf100(): { tls: RawTls; root: string } {
  const { root, issuer } = createChain(99, 'hostile long');
  const leaf = issueCert(issuer, { dnsNames: [SN] });
  return { tls: { chainPem: leaf.chainPem, keyPem: leaf.keyPem }, root: root.certPem };
}

function hugeCert(): RawTls {
  // ~6,000 names: a ~150 KB certificate (OpenSSL clients accept at most 100 KB of chain by default)
  const names = [SN, ...Array.from({ length: 6000 }, (_, i) => `name-${i}-${'x'.repeat(10)}.example.net`)];
  const leaf = issueCert(labCas().intermediate, { dnsNames: names });
  return { chainPem: leaf.chainPem, keyPem: leaf.keyPem };
}

function tls10(): RawTls {
  const leaf = issueCert(labCas().intermediate, { dnsNames: [SN] });
  return { chainPem: leaf.chainPem, keyPem: leaf.keyPem, options: { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } };
}

/** A homeserver at 127.0.0.3:8448 for `example.org:8448` served by a raw TLS host with `tls`. */
function rawHomeserver(name: string, tls: RawTls | (() => RawTls)): HostileDeployment {
  const material = typeof tls === 'function' ? tls() : tls;
  return {
    scenario: scenario(name, { [SN]: { A: ['127.0.0.3'] } }, [], `${SN}:8448`),
    raw: [{ address: '127.0.0.3', port: 8448, tls: material, onConnection: nodeHttp(homeserverHandler({ serverName: `${SN}:8448` })) }],
  };
}

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

function srvRecords(q: { name: string }, n: number, target: (i: number) => string, port = 8448): AnswerRecord[] {
  return Array.from({ length: n }, (_, i) => ({ name: q.name, ttl: 300, type: 'SRV' as const, priority: 10 + (i % 7), weight: i % 100, port, target: target(i) }));
}

// ---------------------------------------------------------------------------------------------

export const rawBehaviours: Behaviour[] = [
  // --- HTTP -----------------------------------------------------------------------------------
  {
    name: 'drip-headers',
    area: 'http',
    title: 'the well-known status line and headers arrive a byte a second',
    deploy: () => webRaw('drip-headers', onWellKnown((x) => drip(x.c, head(200, { 'content-type': 'application/json', 'content-length': String(GOOD_WK.length) }) + GOOD_WK, 1000))),
    expect: wellKnownThenFallback('warn', TIMED_OUT),
  },
  {
    name: 'drip-body',
    area: 'http',
    title: 'the well-known body arrives a byte a second',
    deploy: () =>
      webRaw('drip-body', onWellKnown(async (x) => {
        x.c.write(head(200, { 'content-type': 'application/json', 'content-length': String(GOOD_WK.length) }));
        await drip(x.c, GOOD_WK, 1000);
      })),
    expect: wellKnownThenFallback('warn', TIMED_OUT),
  },
  {
    name: 'endless-body',
    area: 'http',
    title: 'the well-known body never ends (chunked, as fast as it is read)',
    deploy: () =>
      webRaw('endless-body', onWellKnown(async (x) => {
        x.c.write(head(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
        const piece = Buffer.alloc(16 * 1024, 0x20);
        await flood(x.c, Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
      })),
    expect: wellKnownThenFallback('fail', /50 KiB|larger/),
  },
  {
    name: 'ten-megabytes',
    area: 'http',
    title: 'a 10 MB well-known',
    deploy: () =>
      webRaw('ten-megabytes', onWellKnown(async (x) => {
        const size = 10 * 1024 * 1024;
        x.c.write(head(200, { 'content-type': 'application/json', 'content-length': String(size) }));
        x.c.write('{"m.server": "matrix.example.org:443", "padding": "');
        await flood(x.c, Buffer.alloc(64 * 1024, 0x61), size - 60);
        x.c.write('"}');
      })),
    expect: wellKnownThenFallback('fail', /50 KiB|larger/),
  },
  {
    name: 'content-length-short',
    area: 'http',
    title: 'Content-Length is shorter than the body',
    deploy: () => webRaw('content-length-short', onWellKnown((x) => void x.c.write(head(200, { 'content-type': 'application/json', 'content-length': '12' }) + GOOD_WK + '\r\nHTTP/1.1 200 OK\r\n\r\n'))),
    expect: wellKnownThenFallback('fail', /JSON/),
  },
  {
    name: 'content-length-long',
    area: 'http',
    title: 'Content-Length is longer than the body, then the connection closes',
    deploy: () =>
      webRaw('content-length-long', onWellKnown((x) => {
        x.c.write(head(200, { 'content-type': 'application/json', 'content-length': '5000' }) + GOOD_WK);
        x.c.timer(50, () => x.c.socket.end());
      })),
    expect: wellKnownThenFallback('warn', /closed|terminated|socket/i),
  },
  {
    name: 'gzip-bomb',
    area: 'http',
    title: 'a gzip bomb: 20 MB of zeros in 20 KB, Content-Encoding: gzip although no Accept-Encoding was sent',
    deploy: () => {
      const bomb = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024), { level: 9 });
      return webRaw('gzip-bomb', onWellKnown((x) => void x.c.write(response(200, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }))));
    },
    expect: (r) => {
      wellKnownThenFallback('fail', /not valid JSON \(it is compressed, Content-Encoding: "gzip"/)(r);
      const lab = r.lab.raw[0]!;
      for (const q of lab.requests) assert.ok(!q.headers.some(([k]) => k.toLowerCase() === 'accept-encoding'), `fedcheck sent Accept-Encoding: ${q.head}`);
      // what was kept is the compressed bytes as sent: nothing was inflated
      const hop = r.evidence.discovery!.wellKnown!.hops[0]!.exchange;
      assert.ok(hop.response!.bodyBytes < 64 * 1024, `body ${hop.response!.bodyBytes} bytes`);
      assert.equal(hop.response!.headers['content-encoding'], 'gzip');
    },
  },
  {
    name: 'informational-forever',
    area: 'http',
    title: '1xx responses forever (102 Processing and 103 Early Hints every 20 ms)',
    deploy: () =>
      webRaw('informational-forever', onWellKnown((x) => {
        let n = 0;
        x.c.every(20, () => x.c.write(n++ % 2 ? 'HTTP/1.1 102 Processing\r\n\r\n' : 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n'));
        return new Promise<void>((res) => x.c.socket.once('close', () => res()));
      })),
    expect: wellKnownThenFallback('warn', /no response within/),
  },
  {
    name: 'ten-thousand-headers',
    area: 'http',
    title: '10,000 header fields',
    deploy: () => {
      const fields = Array.from({ length: 10_000 }, (_, i): [string, string] => [`x-h${i}`, 'v']);
      return webRaw('ten-thousand-headers', onWellKnown((x) => void x.c.write(head(200, [['content-type', 'application/json'], ['content-length', String(GOOD_WK.length)], ...fields]) + GOOD_WK)));
    },
    expect: wellKnownThenFallback('warn', /header/i),
  },
  {
    name: 'megabyte-header-line',
    area: 'http',
    title: 'a 1 MB header line',
    deploy: () => webRaw('megabyte-header-line', onWellKnown((x) => void x.c.write(head(200, [['content-type', 'application/json'], ['x-big', 'a'.repeat(1024 * 1024)], ['content-length', String(GOOD_WK.length)]]) + GOOD_WK))),
    expect: wellKnownThenFallback('warn', /header/i),
  },
  {
    name: 'reset-mid-response',
    area: 'http',
    title: 'the connection is reset in the middle of the body',
    deploy: () =>
      webRaw('reset-mid-response', onWellKnown((x) => {
        x.c.write(head(200, { 'content-type': 'application/json', 'content-length': String(GOOD_WK.length) }) + GOOD_WK.slice(0, 10));
        x.c.timer(30, () => x.c.reset());
      })),
    expect: wellKnownThenFallback('warn', /reset|closed|ECONNRESET/i),
  },
  {
    name: 'invalid-utf8',
    area: 'http',
    title: 'the well-known is invalid UTF-8',
    deploy: () => {
      const body = Buffer.concat([Buffer.from('{"m.server": "matrix.example.org'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(':443"}')]);
      return webRaw('invalid-utf8', onWellKnown((x) => void x.c.write(response(200, body, { 'content-type': 'application/json' }))));
    },
    expect: wellKnownThenFallback('fail', /m\.server|UTF-8|ASCII/),
  },
  {
    name: 'not-http',
    area: 'http',
    title: 'something that is not HTTP answers on 443 (an SSH banner)',
    deploy: () => webRaw('not-http', (x) => void x.c.write('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n\u001b[2J\r\n')),
    expect: wellKnownThenFallback('warn', /HTTP/),
  },
  {
    name: 'escape-in-header',
    area: 'http',
    title: 'header values (Content-Type and others) carry ANSI escapes and C1 bytes',
    deploy: () =>
      webRaw('escape-in-header', onWellKnown((x) => void x.c.write(head(200, { 'content-type': 'text/plain\u001b]0;pwned\u0007\u001b[2J', 'x-junk': '\u009b31m', 'content-length': String(GOOD_WK.length) }) + GOOD_WK))),
    expect: (r) => {
      // the HTTP parser refuses control characters in header values (llhttp): the well-known failed
      finding(r.report, 'well-known', 'warn', /does not match the HTTP\/1\.1 protocol|header/);
      finding(r.report, 'federation-version', 'pass');
    },
  },
  {
    name: 'drip-keys',
    area: 'http',
    title: 'the key response of the homeserver drips a byte a second (the other probes still answer)',
    deploy: () => {
      const hs = homeserverHandler({ serverName: `${SN}:8448` });
      return {
        scenario: scenario('drip-keys', { [SN]: { A: ['127.0.0.3'] } }, [], `${SN}:8448`),
        raw: [{
          address: '127.0.0.3', port: 8448, tls: { names: [SN] },
          onConnection: httpResponder(async (x) => {
            if (x.req.target === '/_matrix/key/v2/server') {
              x.c.write(head(200, { 'content-type': 'application/json', 'content-length': '1000' }));
              await drip(x.c, '{"server_name": "example.org:8448", ', 1000);
              return;
            }
            const body = x.req.target === '/_matrix/federation/v1/version' ? JSON.stringify({ server: { name: 'raw', version: '1' } }) : x.req.target === '/health' ? 'OK' : JSON.stringify(hs.keyResponse());
            x.c.write(response(x.req.target === '/health' || x.req.target.startsWith('/_matrix/') ? 200 : 404, body, { 'content-type': 'application/json' }));
          }),
        }],
      };
    },
    expect: (r) => {
      finding(r.report, 'tls', 'pass', undefined, '127.0.0.3:8448');
      finding(r.report, 'server-keys', 'fail', TIMED_OUT, '127.0.0.3:8448');
    },
  },
  {
    name: 'keys-thousand-keys',
    area: 'http',
    title: 'a key response with 1,200 verify keys, each with a signature (a judge-time CPU bomb)',
    deploy: () => {
      const real = generateSigningKey('k0');
      const verify: Record<string, { key: string }> = { [real.keyId]: { key: real.publicKey } };
      for (let i = 1; i < 1200; i++) verify[`ed25519:k${i}`] = { key: encodeBase64(crypto.randomBytes(32)) };
      const doc = signJson({ server_name: `${SN}:8448`, valid_until_ts: Date.now() + 86_400_000, verify_keys: verify, old_verify_keys: {} }, `${SN}:8448`, real.keyId, real.seed);
      for (let i = 1; i < 1200; i++) doc.signatures[`${SN}:8448`]![`ed25519:k${i}`] = encodeBase64(crypto.randomBytes(64));
      const body = JSON.stringify(doc);
      return {
        scenario: scenario('keys-thousand-keys', { [SN]: { A: ['127.0.0.3'] } }, [
          homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { routes: { '/_matrix/key/v2/server': { status: 200, headers: { 'content-type': 'application/json' }, body } } }),
        ], `${SN}:8448`),
      };
    },
    expect: (r) => {
      finding(r.report, 'server-keys', 'warn', /not self-signed/, '127.0.0.3:8448');
      for (const c of r.report.checks) assert.ok(c.summary.length < 2000, `${c.id} summary is ${c.summary.length} characters`);
    },
  },
  {
    name: 'support-thousand-roles',
    area: 'http',
    title: 'a support well-known with 1,000 contacts in 1,000 different roles',
    deploy: () => {
      const contacts = Array.from({ length: 1000 }, (_, i) => ({ role: `org.x.r${i}`, email_address: `${i}@x.y` }));
      return webRaw('support-thousand-roles', (x) => {
        if (x.req.target === '/.well-known/matrix/support') x.c.write(response(200, JSON.stringify({ contacts }), { 'content-type': 'application/json' }));
        else x.c.write(response(404, 'not found', { 'content-type': 'text/plain' }));
      });
    },
    expect: (r) => {
      finding(r.report, 'support-well-known', 'pass', /1000 contacts \(.* and 995 more roles\)/);
      for (const c of r.report.checks) assert.ok(c.summary.length < 2000, `${c.id} summary is ${c.summary.length} characters`);
    },
  },
  {
    name: 'long-content-type',
    area: 'http',
    title: 'the version endpoint answers 500 with a 50,000-character Content-Type (and \\x9b bytes in it)',
    deploy: () => ({
      scenario: scenario('long-content-type', { [SN]: { A: ['127.0.0.3'] } }, [
        homeserver('127.0.0.3', 8448, `${SN}:8448`, { names: [SN] }, { routes: { '/_matrix/federation/v1/version': { status: 500, headers: { 'content-type': `text/${'x'.repeat(50_000)}\u009b31m` }, body: 'oops' } } }),
      ], `${SN}:8448`),
    }),
    expect: (r) => {
      const f = finding(r.report, 'federation-version', 'fail', /500/, '127.0.0.3:8448');
      assert.ok(f.summary.length < 2000, `summary is ${f.summary.length} characters`);
    },
  },
  {
    name: 'client-long-base-url',
    area: 'value',
    title: 'the client well-known names a base_url 30,000 characters long',
    deploy: () => {
      const base = `https://example.org/${'a'.repeat(30_000)}`;
      return webRaw('client-long-base-url', (x) => {
        if (x.req.target === '/.well-known/matrix/client') x.c.write(response(200, JSON.stringify({ 'm.homeserver': { base_url: base } }), { 'content-type': 'application/json', 'access-control-allow-origin': '*' }));
        else x.c.write(response(404, 'not found', { 'content-type': 'text/plain' }));
      });
    },
    expect: (r) => {
      finding(r.report, 'client-well-known', 'fail', /FAIL_ERROR: .* is 30020 characters long/);
      for (const c of r.report.checks) assert.ok(c.summary.length < 2000, `${c.id} summary is ${c.summary.length} characters`);
    },
  },
  {
    name: 'crlf-never-on-the-wire',
    area: 'value',
    title: 'm.server with CR/LF: what the servers received never carries it (Host header included)',
    deploy: () => {
      const wk = JSON.stringify({ 'm.server': 'matrix.example.org\r\nX-Injected: 1\r\nHost: evil.example' });
      const rec = (sn: string) => nodeHttp(homeserverHandler({ serverName: sn, routes: { [WK]: { status: 200, headers: { 'content-type': 'application/json' }, body: wk } } }));
      return {
        scenario: scenario('crlf-never-on-the-wire', { [SN]: { A: ['127.0.0.2'] }, 'matrix.example.org': { A: ['127.0.0.3'] }, 'evil.example': { A: ['127.0.0.4'] } }, []),
        raw: [
          { address: '127.0.0.2', port: 443, tls: { names: [SN] }, onConnection: rec(SN) },
          { address: '127.0.0.2', port: 8448, tls: { names: [SN] }, onConnection: rec(SN) },
          { address: '127.0.0.3', port: 443, tls: { names: ['matrix.example.org'] }, onConnection: rec(SN) },
          { address: '127.0.0.3', port: 8448, tls: { names: ['matrix.example.org'] }, onConnection: rec(SN) },
          { address: '127.0.0.4', port: 443, tls: { names: ['evil.example'] }, onConnection: rec(SN) },
        ] satisfies RawHostSpec[],
      };
    },
    expect: (r) => {
      finding(r.report, 'well-known', 'fail', /line break/);
      assert.equal(r.report.resolution?.method, 'default-port');
      const [web, hs, m443, m8448, evil] = r.lab.raw;
      assert.ok(web!.requests.length > 0 && hs!.requests.length > 0, 'the web server and the homeserver were asked');
      const strays = [m443!, m8448!, evil!].flatMap((h, i) => h.requests.map((q) => `${['matrix:443', 'matrix:8448', 'evil:443'][i]} ${q.target} ${JSON.stringify(q.headers)}`));
      assert.equal(strays.length, 0, `nothing may go to the names in the hostile value; got:\n${strays.join('\n')}`);
      for (const host of r.lab.raw) {
        for (const q of host.requests) {
          assert.ok(!q.headers.some(([k]) => /injected/i.test(k)), `injected header received: ${JSON.stringify(q.headers)}`);
          const hosts = q.headers.filter(([k]) => k.toLowerCase() === 'host');
          assert.equal(hosts.length, 1, JSON.stringify(q.headers));
          assert.match(hosts[0]![1], /^example\.org(:\d+)?$/);
        }
      }
    },
  },

  // --- DNS ------------------------------------------------------------------------------------
  {
    name: 'dns-silent',
    area: 'dns',
    title: 'the DNS server never answers anything',
    deploy: () => ({ scenario: scenario('dns-silent', {}, []), dns: () => null, dnsNoUpstream: true }),
    expect: (r) => {
      finding(r.report, 'srv', 'fail', /timeout|no DNS answer/i);
      finding(r.report, 'dns', 'fail', /timeout|no DNS answer|time/i);
    },
  },
  {
    name: 'dns-srv-silent',
    area: 'dns',
    title: 'the DNS server drops SRV questions (a broken middlebox), A/AAAA work',
    deploy: () => ({
      scenario: scenario('dns-srv-silent', { [SN]: { A: ['127.0.0.2'] } }, [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })]),
      dns: (q) => (q.type === QTYPE.SRV ? null : undefined),
    }),
    expect: (r) => {
      finding(r.report, 'srv', 'fail', /no DNS answer|time/i);
      // the lookups that failed must not leave the rest of the run without time
      finding(r.report, 'tls', 'pass', undefined, '127.0.0.2:8448');
      finding(r.report, 'federation-version', 'pass', undefined, '127.0.0.2:8448');
    },
  },
  {
    name: 'dns-srv-10000',
    area: 'dns',
    title: '10,000 SRV records: UDP truncated, TCP carries the ~2,400 that fit in 64 KiB',
    deploy: () => ({
      scenario: scenario('dns-srv-10000', { [SN]: { A: ['127.0.0.2'] } }, [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }]),
      dns: (q) => {
        if (q.type !== QTYPE.SRV || !q.name.startsWith('_matrix-fed.')) return undefined;
        if (q.transport === 'udp') return answer(q, [], { tc: true });
        // what fits in one TCP message, TC set (there were more)
        return answer(q, srvRecords(q, 2400, (i) => `t${i}.x`), { tc: true });
      },
    }),
    expect: (r) => {
      finding(r.report, 'srv', 'pass', /2400 records: /);
      const f = finding(r.report, 'srv', 'warn', /2400 SRV records: only the first 10 targets/);
      assert.ok(f.summary.length < 2000, `srv summary is ${f.summary.length} characters`);
      assert.ok(r.evidence.addresses.length <= 64, `${r.evidence.addresses.length} addresses probed`);
    },
  },
  {
    name: 'dns-srv-count-lie',
    area: 'dns',
    title: 'an SRV answer whose header claims 10,000 records and carries 2,000',
    deploy: () => ({
      scenario: scenario('dns-srv-count-lie', { [SN]: { A: ['127.0.0.2'] } }, [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })]),
      dns: (q) => {
        if (q.type !== QTYPE.SRV || !q.name.startsWith('_matrix-fed.')) return undefined;
        const b = answer(q, srvRecords(q, 2000, (i) => `t${i}.x`));
        b.writeUInt16BE(10_000, 6);
        return b;
      },
    }),
    expect: (r) => finding(r.report, 'srv', 'fail', /malformed|EBADRESP/),
  },
  {
    name: 'dns-wrong-answer',
    area: 'dns',
    title: 'the DNS server answers every question with another id and another name (spoof-like)',
    deploy: () => ({
      scenario: scenario('dns-wrong-answer', {}, []),
      dnsNoUpstream: true,
      dns: (q) => answer({ ...q, id: (q.id + 1) & 0xffff, name: 'attacker.example' }, [{ name: 'attacker.example', ttl: 1, type: 'A', address: '127.0.0.66' }]),
    }),
    expect: (r) => {
      finding(r.report, 'dns', 'fail', /time|no DNS answer/i);
      assert.ok(!JSON.stringify(r.report).includes('127.0.0.66'), 'a forged answer was used');
    },
  },
  {
    name: 'dns-srv-many-targets',
    area: 'dns',
    title: '1,500 SRV records with distinct targets: fedcheck must not open 1,500 connections',
    deploy: () => {
      return {
        scenario: scenario('dns-srv-many-targets', { [SN]: { A: ['127.0.0.2'] } }, [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.5', 8448, SN, { names: [SN] })]),
        dns: (q) => {
          if (q.type === QTYPE.SRV && q.name.startsWith('_matrix-fed.')) {
            return q.transport === 'udp' ? answer(q, [], { tc: true }) : answer(q, srvRecords(q, 1500, (i) => `t${i}.x`));
          }
          if (/^t\d+\.x$/.test(q.name)) return answer(q, q.type === QTYPE.A ? [{ name: q.name, ttl: 300, type: 'A', address: '127.0.0.5' }] : []);
          return undefined;
        },
      };
    },
    expect: (r) => {
      finding(r.report, 'srv', 'warn', /1500 SRV records: only the first 10 targets/);
      assert.ok((r.report.resolution?.targets.length ?? 0) <= 64, `${r.report.resolution?.targets.length} targets`);
      const asked = r.lab.dns!.questions.filter((q) => /^t\d+\.x$/.test(q.name)).length;
      assert.ok(asked <= 200, `${asked} target lookups`);
    },
  },

  {
    name: 'dns-a-thousand-addresses',
    area: 'dns',
    title: 'an A answer with 1,000 addresses: fedcheck must not open 1,000 connections',
    deploy: () => {
      const addrs = Array.from({ length: 1000 }, (_, i) => `127.1.${i >> 8}.${i & 255}`);
      const hs = homeserverHandler({ serverName: `${SN}:8448` });
      return {
        scenario: scenario('dns-a-thousand-addresses', {}, [], `${SN}:8448`),
        raw: [
          { address: addrs[0]!, aliases: addrs.slice(1), port: 8448, tls: { names: [SN] }, onConnection: nodeHttp(hs) },
          { address: addrs[0]!, aliases: addrs.slice(1), port: 443, tls: { names: [SN] }, onConnection: nodeHttp(hs) },
        ],
        dnsNoUpstream: true,
        dns: (q) => answer(q, q.type === QTYPE.A && q.name === SN ? addrs.map((address) => ({ name: q.name, ttl: 60, type: 'A' as const, address })) : []),
      };
    },
    expect: (r) => {
      const f = finding(r.report, 'dns', 'warn', /1000 addresses|1,000 addresses/);
      assert.ok(f.summary.length < 500, f.summary);
      for (const c of r.report.checks) assert.ok(c.summary.length < 2000, `${c.id} summary is ${c.summary.length} characters`);
      assert.ok(r.evidence.addresses.length <= 10, `${r.evidence.addresses.length} addresses probed`);
      finding(r.report, 'federation-version', 'pass');
    },
  },

  // --- TLS ------------------------------------------------------------------------------------
  {
    name: 'tls-chain-100',
    area: 'tls',
    title: 'a chain of 100 certificates',
    deploy: () => {
      const { tls, root } = chainOf100();
      return { ...rawHomeserver('tls-chain-100', tls), extraCaPems: [root] };
    },
    expect: (r) => {
      finding(r.report, 'tls', 'warn', /intermediate certificates/, '127.0.0.3:8448');
    },
  },
  {
    name: 'tls-huge-certificate',
    area: 'tls',
    title: 'a 150 KB certificate (6,000 names)',
    deploy: () => rawHomeserver('tls-huge-certificate', hugeCert),
    expect: (r) => {
      // OpenSSL's default limit for a handshake message is 100 KB
      const f = finding(r.report, 'tls', 'fail', /larger than OpenSSL accepts/, '127.0.0.3:8448');
      assert.ok(f.summary.length < 1000, `tls summary is ${f.summary.length} characters`);
    },
  },
  {
    name: 'tls-1.0-only',
    area: 'tls',
    title: 'the homeserver speaks TLS 1.0 only',
    deploy: () => rawHomeserver('tls-1.0-only', tls10),
    expect: (r) => {
      finding(r.report, 'tls', 'warn', /TLSv1\b|TLS 1\.0|old TLS/, '127.0.0.3:8448');
      none(r.report, 'tls', 'fail');
      finding(r.report, 'federation-version', 'pass', undefined, '127.0.0.3:8448');
    },
  },
  {
    name: 'tls-handshake-drip',
    area: 'tls',
    title: 'the TLS handshake answer drips a byte every 200 ms',
    deploy: () => ({
      scenario: scenario('tls-handshake-drip', { [SN]: { A: ['127.0.0.3'] } }, [], `${SN}:8448`),
      raw: [{
        address: '127.0.0.3', port: 8448,
        onTcp: (c) => {
          c.socket.once('data', () => void drip(c, Buffer.concat([Buffer.from([0x16, 0x03, 0x03, 0x40, 0x00]), Buffer.alloc(0x4000, 0x02)]), 200));
        },
      }],
    }),
    expect: (r) => finding(r.report, 'tls', 'fail', /TLS|time/i, '127.0.0.3:8448'),
  },
];

export const TIMEOUT = TIMEOUT_MS;
