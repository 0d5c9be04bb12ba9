/**
 * The lab DNS server, checked with Node's own c-ares resolver. Loopback only (127.0.0.1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import { expandIPv6, normalizeDnsName, startDnsServer, type LabDnsServer, type Zone } from '../../src/lab/dns-server.js';

const zone: Zone = {
  'hs.test': { A: ['127.0.0.2', '127.0.0.3'], AAAA: ['::1'], ttl: 120 },
  'v6.test.': { AAAA: ['::ffff:192.0.2.1', '2001:db8::1'] },
  'alias.test': { CNAME: 'Alias2.test.' },
  'alias2.test': { CNAME: 'hs.test' },
  'loop-a.test': { CNAME: 'loop-b.test' },
  'loop-b.test': { CNAME: 'loop-a.test' },
  'dangling.test': { CNAME: 'missing.test' },
  'alias-sf.test': { CNAME: 'sf.test' },
  '_matrix-fed._tcp.hs.test': {
    SRV: [
      { priority: 10, weight: 5, port: 8448, target: 'hs.test' },
      { priority: 20, weight: 0, port: 443, target: 'backup.test.' },
    ],
  },
  '_matrix-fed._tcp.none.test': { SRV: [{ priority: 0, weight: 0, port: 0, target: '.' }] },
  'sf.test': { A: ['127.0.0.9'], fault: 'servfail' },
  'rf.test': { A: ['127.0.0.9'], fault: 'refused' },
  'silent.test': { A: ['127.0.0.9'], fault: 'silent' },
  'tc.test': { A: ['127.0.0.9'], fault: 'truncate' },
  'bad.test': { A: ['127.0.0.9'], fault: 'malformed' },
  'half.test': { A: ['127.0.0.4'], AAAA: ['::1'], faultFor: { AAAA: 'servfail' } },
};

let dns: LabDnsServer;
let r: Resolver;

before(async () => {
  dns = await startDnsServer(zone);
  r = new Resolver({ timeout: 300, tries: 1 });
  r.setServers([dns.address]);
});
after(async () => {
  await dns.stop();
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'no-code';
  }
}

test('binds 127.0.0.1 only, UDP and TCP on the same port', async () => {
  assert.equal(dns.host, '127.0.0.1');
  assert.equal(dns.address, `127.0.0.1:${dns.port}`);
  // TCP on the same port answers on 127.0.0.1 ...
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(dns.port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
  // ... and not on another loopback address (it would if bound to 0.0.0.0)
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
    const s = net.connect(dns.port, '127.0.0.2', () => {
      s.destroy();
      resolve(Object.assign(new Error('connected'), { code: 'CONNECTED' }));
    });
    s.on('error', resolve);
  });
  assert.equal(err.code, 'ECONNREFUSED');
});

test('A / AAAA with TTLs, case-insensitive, trailing dot tolerant', async () => {
  assert.deepEqual(await r.resolve4('hs.test', { ttl: true }), [
    { address: '127.0.0.2', ttl: 120 },
    { address: '127.0.0.3', ttl: 120 },
  ]);
  assert.deepEqual(await r.resolve4('HS.Test.'), ['127.0.0.2', '127.0.0.3']);
  assert.deepEqual(await r.resolve6('hs.test'), ['::1']);
  assert.deepEqual(await r.resolve6('v6.test'), ['::ffff:192.0.2.1', '2001:db8::1']);
  const last = dns.queries.at(-1)!;
  assert.deepEqual(last, { name: 'v6.test', type: 'AAAA', transport: 'udp' });
});

test('CNAME chains are chased; loops and dangling targets', async () => {
  assert.deepEqual(await r.resolve4('alias.test'), ['127.0.0.2', '127.0.0.3']);
  assert.deepEqual(await r.resolve6('alias.test'), ['::1']);
  assert.deepEqual(await r.resolveCname('alias.test'), ['Alias2.test']);
  assert.deepEqual(await r.resolveCname('alias2.test'), ['hs.test']);
  assert.equal(await code(r.resolveCname('hs.test')), 'ENODATA');
  // a loop answers NOERROR with only CNAMEs: c-ares reports success with no addresses
  assert.deepEqual(await r.resolve4('loop-a.test'), []);
  // chain ending outside the zone: NXDOMAIN
  assert.equal(await code(r.resolve4('dangling.test')), 'ENOTFOUND');
  // a fault on the target applies to the whole answer
  assert.equal(await code(r.resolve4('alias-sf.test')), 'ESERVFAIL');
});

test('SRV records, including the "." target', async () => {
  const srv = await r.resolveSrv('_matrix-fed._tcp.hs.test');
  assert.deepEqual(srv, [
    { name: 'hs.test', port: 8448, priority: 10, weight: 5 },
    { name: 'backup.test', port: 443, priority: 20, weight: 0 },
  ]);
  // c-ares reports the root target as an empty name
  assert.deepEqual(await r.resolveSrv('_matrix-fed._tcp.none.test'), [{ name: '', port: 0, priority: 0, weight: 0 }]);
});

test('NXDOMAIN, NODATA, SERVFAIL, REFUSED, silent, malformed', async () => {
  assert.equal(await code(r.resolve4('nothing.test')), 'ENOTFOUND');
  assert.equal(await code(r.resolveSrv('_matrix._tcp.hs.test')), 'ENOTFOUND');
  assert.equal(await code(r.resolveSrv('hs.test')), 'ENODATA');
  assert.equal(await code(r.resolve6('_matrix-fed._tcp.hs.test')), 'ENODATA');
  assert.equal(await code(r.resolve4('sf.test')), 'ESERVFAIL');
  assert.equal(await code(r.resolve4('rf.test')), 'EREFUSED');
  const t0 = Date.now();
  assert.equal(await code(r.resolve4('silent.test')), 'ETIMEOUT');
  assert.ok(Date.now() - t0 >= 250, 'silent should wait for the timeout');
  assert.equal(await code(r.resolve4('bad.test')), 'EBADRESP');
  // per-type fault
  assert.deepEqual(await r.resolve4('half.test'), ['127.0.0.4']);
  assert.equal(await code(r.resolve6('half.test')), 'ESERVFAIL');
});

test('truncate: TC over UDP, full answer over TCP', async () => {
  const before = dns.queries.length;
  assert.deepEqual(await r.resolve4('tc.test'), ['127.0.0.9']);
  const qs = dns.queries.slice(before);
  assert.deepEqual(qs, [
    { name: 'tc.test', type: 'A', transport: 'udp' },
    { name: 'tc.test', type: 'A', transport: 'tcp' },
  ]);
});

test('oversized answers are truncated on UDP and retried on TCP', async () => {
  // 1,500 records (~50 KB): must encode fast (dns2's own encoder needed seconds for this)
  const srv = Array.from({ length: 1500 }, (_, i) => ({ priority: i, weight: 1, port: 8000 + i, target: `t${i}.big.test` }));
  const big = await startDnsServer({ '_matrix-fed._tcp.big.test': { SRV: srv } });
  try {
    const rb = new Resolver({ timeout: 1000, tries: 1 });
    rb.setServers([big.address]);
    const got = await rb.resolveSrv('_matrix-fed._tcp.big.test');
    assert.equal(got.length, 1500);
    assert.deepEqual(got[1499], { name: 't1499.big.test', port: 9499, priority: 1499, weight: 1 });
    assert.deepEqual(
      big.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  } finally {
    await big.stop();
  }
});

test('setZone replaces the zone; rttMs delays each answer', async () => {
  const slow = await startDnsServer({ 'x.test': { A: ['127.0.0.7'] } }, { rttMs: 120 });
  try {
    const rs = new Resolver({ timeout: 2000, tries: 1 });
    rs.setServers([slow.address]);
    let t0 = performance.now();
    assert.deepEqual(await rs.resolve4('x.test'), ['127.0.0.7']);
    const ms = performance.now() - t0;
    assert.ok(ms >= 110, `answer took ${ms} ms, expected >= ~120`);
    assert.ok(ms < 1500);
    slow.setZone({ 'x.test': { A: ['127.0.0.8'] } });
    t0 = performance.now();
    assert.deepEqual(await rs.resolve4('x.test'), ['127.0.0.8']);
    assert.ok(performance.now() - t0 >= 110);
    assert.throws(() => slow.setZone({ 'y.test': { A: ['::1'] } }), /bad A/);
  } finally {
    await slow.stop();
  }
});

test('stop() closes open TCP connections and pending answers', async () => {
  const s = await startDnsServer({ 'q.test': { A: ['127.0.0.1'], fault: 'silent' } }, { rttMs: 5000 });
  const sock = net.connect(s.port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  const closed = new Promise((resolve) => sock.once('close', resolve));
  sock.on('error', () => undefined);
  const t0 = Date.now();
  await s.stop();
  await closed;
  assert.ok(Date.now() - t0 < 2000);
  await s.stop(); // idempotent
});

test('helpers', () => {
  assert.equal(normalizeDnsName('Example.ORG.'), 'example.org');
  assert.equal(normalizeDnsName('.'), '.');
  assert.equal(expandIPv6('::1'), '0000:0000:0000:0000:0000:0000:0000:0001');
  assert.equal(expandIPv6('::ffff:1.2.3.4'), '0000:0000:0000:0000:0000:ffff:0102:0304');
  assert.equal(expandIPv6('fe80::'), 'fe80:0000:0000:0000:0000:0000:0000:0000');
  assert.throws(() => expandIPv6('1.2.3.4'));
});
