/** Unit tests of the terminal pieces: the --verbose trace formatter and the progress line. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatEvent, makeTracer } from '../../src/cli/trace.js';
import { fit, Progress } from '../../src/cli/progress.js';
import { issueCert } from '../../src/lab/ca.js';
import { labCas } from '../../src/lab/deployment.js';
import type { TlsEvidence } from '../../src/core/types.js';

const ESC = '\u001b';
const DAY = 86_400_000;

function derOf(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
}

describe('--verbose trace', () => {
  it('prefixes every line with the sigil, the time since the start and the server name', () => {
    let now = 1_000;
    const lines: string[] = [];
    const trace = makeTracer((l) => lines.push(l), { now: () => now });
    now = 1_234;
    trace('example.org', { kind: 'dns', message: 'A example.org → 192.0.2.1 (TTL 60)', ms: 12 });
    trace('example.org', {
      kind: 'request',
      message: 'ignored when exchange is given',
      exchange: { method: 'GET', path: '/_matrix/key/v2/server', hostHeader: 'example.org', address: '2001:db8::1', port: 8448 },
    });
    trace('example.org', {
      kind: 'response',
      message: '< 404 (9 bytes)',
      ms: 7,
      exchange: { method: 'GET', path: '/_matrix/key/v2/server', hostHeader: 'example.org', address: '2001:db8::1', port: 8448 },
    });
    trace('example.org', { kind: 'connect', message: 'connected to ::1:8448', ms: 1 });
    trace('example.org', { kind: 'error', message: '127.0.0.1:8448 connection refused (nothing listening on that port)', ms: 0 });
    assert.deepEqual(lines, [
      '* +0.234s [example.org] DNS A example.org → 192.0.2.1 (TTL 60) (12 ms)',
      '> +0.234s [example.org] GET /_matrix/key/v2/server HTTP/1.1 · Host: example.org · to [2001:db8::1]:8448',
      '< +0.234s [example.org] HTTP/1.1 404 · GET /_matrix/key/v2/server from [2001:db8::1]:8448, 9 bytes (7 ms)',
      '* +0.234s [example.org] TCP connected to [::1]:8448 (1 ms)',
      '! +0.234s [example.org] 127.0.0.1:8448 connection refused (nothing listening on that port) (0 ms)',
    ]);
  });

  it('describes a TLS handshake: version, cipher, ALPN, SNI, subject, issuer, SANs, validity, chain verdict', () => {
    const { intermediate } = labCas();
    const now = Date.now();
    const cert = issueCert(intermediate, { dnsNames: ['matrix.example.org', 'example.org'], ipAddresses: ['192.0.2.7'], notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - 10 * DAY) });
    const tls: TlsEvidence = {
      protocol: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      alpn: 'http/1.1',
      servername: 'matrix.example.org',
      chainAuthorized: false,
      chainError: 'CERT_HAS_EXPIRED',
      chain: [derOf(cert.certPem)],
      sessionReused: false,
    };
    const lines = formatEvent({ kind: 'tls', message: 'x', ms: 15, tls, peer: { address: '192.0.2.7', port: 443 } }, now);
    assert.equal(lines[0], 'TLS handshake with 192.0.2.7:443 done (15 ms): TLSv1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ALPN http/1.1, SNI matrix.example.org');
    assert.match(lines[1]!, /^ {2}subject: CN=matrix\.example\.org/);
    assert.match(lines[2]!, /^ {2}issuer: {2}CN=fedcheck lab intermediate CA/);
    assert.equal(lines[3], '  SANs:    DNS:matrix.example.org, DNS:example.org, IP Address:192.0.2.7');
    assert.match(lines[4]!, /^ {2}valid: {3}\S+ → \S+ \(EXPIRED 10 days ago\)$/);
    assert.equal(lines[5], '  chain:   1 certificate sent; NOT trusted (CERT_HAS_EXPIRED)');

    const noSni = formatEvent({ kind: 'tls', message: 'x', tls: { ...tls, servername: null, chain: [] } }, now);
    assert.match(noSni[0]!, /SNI none \(IP certificate\)$/);
    assert.equal(noSni[1], '  certificate: none sent');
  });

  it('sanitises remote text: no escape sequence or line break from a server reaches the terminal', () => {
    const lines = formatEvent({ kind: 'dns', message: 'SRV _matrix-fed._tcp.evil.example → 10 0 8448 \u001b[2J\u001b]0;pwned\u0007evil\nFAKE LINE', ms: 1 });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes(ESC));
    assert.ok(!lines[0]!.includes('\n'));
    const req = formatEvent({ kind: 'request', message: '', exchange: { method: 'GET', path: '/x\u001b[31m\r\n', hostHeader: 'h\u009b2J', address: '127.0.0.1', port: 1 } });
    assert.ok(!req.join('').includes(ESC) && !req.join('').includes('\u009b') && !req.join('').includes('\r'));
  });
});

describe('progress line', () => {
  function capture() {
    const out: string[] = [];
    return { out, stream: { columns: 200, write: (s: string) => (out.push(s), true) } };
  }

  it('shows well-known, SRV and address progress for one server, and erases itself', () => {
    const { out, stream } = capture();
    const p = new Progress(stream, false, 0);
    p.setTotal(1);
    p.start('example.org');
    assert.equal(p.line(), 'checking example.org…');
    const ex = (path: string, address: string) => ({ method: 'GET', path, hostHeader: 'example.org', address, port: 443 });
    p.trace('example.org', { kind: 'request', message: '', exchange: ex('/.well-known/matrix/server', '127.0.0.2') });
    p.trace('example.org', { kind: 'dns', message: 'SRV _matrix-fed._tcp.example.org → nxdomain' });
    p.trace('example.org', { kind: 'dns', message: 'SRV _matrix._tcp.example.org → 10 0 8448 hs.example.org' });
    assert.equal(p.line(), 'checking example.org… well-known … srv ✔');
    p.trace('example.org', { kind: 'response', message: '< 200 (40 bytes)', exchange: ex('/.well-known/matrix/server', '127.0.0.2') });
    for (const a of ['127.0.0.3', '127.0.0.4', '127.0.0.5', '::1']) p.trace('example.org', { kind: 'request', message: '', exchange: ex('/_matrix/federation/v1/version', a) });
    for (const a of ['127.0.0.3', '127.0.0.4']) p.trace('example.org', { kind: 'response', message: '< 200 (5 bytes)', exchange: ex('/_matrix/federation/v1/version', a) });
    p.trace('example.org', { kind: 'error', message: 'refused', exchange: ex('/_matrix/federation/v1/version', '127.0.0.5') });
    assert.equal(p.line(), 'checking example.org… well-known ✔ srv ✔ 3/4 addresses');
    p.log('a trace line');
    p.finish('example.org');
    p.stop();
    const all = out.join('');
    assert.ok(all.includes('\r\u001b[2Ka trace line\n'), 'log() clears the line before printing');
    assert.ok(all.endsWith('\r\u001b[2K'), 'stop() leaves the line erased');
    const before = out.length;
    p.trace('example.org', { kind: 'dns', message: 'A example.org → 1.2.3.4' });
    assert.equal(out.length, before, 'nothing is drawn after stop()');
  });

  it('counts servers in a batch and names how many more are running', () => {
    const { stream } = capture();
    const p = new Progress(stream, false, 0);
    p.setTotal(50);
    p.start('a.example');
    p.start('b.example');
    p.finish('a.example');
    p.start('c.example');
    p.trace('c.example', { kind: 'dns', message: 'SRV _matrix-fed._tcp.c.example → servfail' });
    assert.equal(p.line(), '[1/50 done] checking c.example… srv ✖ (+1 more running)');
    p.stop();
  });

  it('never wraps: long lines are cut to the terminal width', () => {
    assert.equal(fit('short', 10), 'short');
    const cut = fit('x'.repeat(100), 20);
    assert.equal(cut.length, 20);
    assert.ok(cut.endsWith('…'));
    assert.equal(fit('\u001b[32m✔\u001b[39m ok', 10), '\u001b[32m✔\u001b[39m ok', 'colour codes do not count');
  });
});
