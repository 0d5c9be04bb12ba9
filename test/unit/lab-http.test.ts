/**
 * The lab HTTP(S) host and the fake homeserver: real TLS with the lab CA, node's https client.
 * Loopback only (127.0.0.x and ::1).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { createCa, createChain, createIntermediate, issueCert } from '../../src/lab/ca.js';
import { startHost, type HostOptions, type LabHost } from '../../src/lab/http-host.js';
import { bogusKey, homeserverHandler } from '../../src/lab/homeserver.js';
import { generateSigningKey, verifyJsonSignature } from '../../src/core/signing.js';

const root = createCa({ commonName: 'HTTP test root' });
const inter = createIntermediate(root, { commonName: 'HTTP test intermediate' });

const hosts: LabHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});
async function host(opts: HostOptions): Promise<LabHost> {
  const h = await startHost(opts);
  hosts.push(h);
  return h;
}

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

/** One request; resolves with the response or rejects with the error (code kept). */
function request(
  opts: (https.RequestOptions & { tls?: boolean; body?: string }) | http.RequestOptions,
  timeoutMs = 3000,
): Promise<Got> {
  const { tls: useTls, body, ...rest } = opts as https.RequestOptions & { tls?: boolean; body?: string };
  const mod = useTls ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), socket: res.socket }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TEST_TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

async function errCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

const echo: http.RequestListener = (req, res) => {
  const text = JSON.stringify({ url: req.url, host: req.headers.host, method: req.method });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

test('req.url is the raw request target (plain HTTP on 127.0.0.2)', async () => {
  const h = await host({ address: '127.0.0.2', handler: echo });
  assert.match(h.origin, /^http:\/\/127\.0\.0\.2:\d+$/);
  const target = '/x/%2e%2e/y/../z%2F?q=%41&b=%2f';
  const raw = await new Promise<string>((resolve, reject) => {
    const s = net.connect(h.port, '127.0.0.2', () => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: hs.test\r\nConnection: close\r\n\r\n`);
    });
    let buf = '';
    s.on('data', (c) => (buf += c.toString()));
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  assert.deepEqual(body, { url: target, host: 'hs.test', method: 'GET' });
  assert.equal(h.connections, 1);
});

test('HTTPS with the lab CA: chain sent, SNI honoured, Host passed through', async () => {
  const leaf = issueCert(inter, { dnsNames: ['hs.test'] });
  const h = await host({ address: '127.0.0.3', tls: leaf, handler: echo });
  assert.match(h.origin, /^https:\/\/127\.0\.0\.3:\d+$/);
  const got = await request({
    tls: true,
    host: '127.0.0.3',
    port: h.port,
    servername: 'hs.test',
    ca: root.certPem,
    path: '/_matrix/federation/v1/version',
    headers: { host: 'hs.test' },
  });
  assert.equal(got.status, 200);
  assert.deepEqual(JSON.parse(got.body), { url: '/_matrix/federation/v1/version', host: 'hs.test', method: 'GET' });
  const peer = (got.socket as tls.TLSSocket).getPeerCertificate(true);
  assert.equal(peer.subject.CN, 'hs.test');
  assert.equal(peer.issuerCertificate.subject.CN, 'HTTP test intermediate');
  assert.equal((got.socket as tls.TLSSocket).authorized, true);
});

test('TLS failures a client sees: wrong name, missing intermediate, expired, future, self-signed', async () => {
  const now = Date.now();
  const cases: Array<[string, Parameters<typeof issueCert>[1], string]> = [
    ['wrong name', { dnsNames: ['other.test'] }, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['missing intermediate', { dnsNames: ['hs.test'], omitIntermediates: true }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['expired', { dnsNames: ['hs.test'], notBefore: new Date(now - 5 * 86400_000), notAfter: new Date(now - 86400_000) }, 'CERT_HAS_EXPIRED'],
    ['not yet valid', { dnsNames: ['hs.test'], notBefore: new Date(now + 86400_000) }, 'CERT_NOT_YET_VALID'],
    ['self-signed', { dnsNames: ['hs.test'], selfSigned: true }, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ];
  for (const [label, leafOpts, expected] of cases) {
    const leaf = issueCert(leafOpts?.selfSigned ? null : inter, leafOpts);
    const h = await host({ address: '127.0.0.4', tls: leaf, handler: echo });
    const code = await errCode(request({ tls: true, host: '127.0.0.4', port: h.port, servername: 'hs.test', ca: root.certPem, path: '/' }));
    assert.equal(code, expected, label);
    // the same server is fine when verification is off (the server itself works)
    const ok = await request({ tls: true, host: '127.0.0.4', port: h.port, servername: 'hs.test', rejectUnauthorized: false, path: '/' });
    assert.equal(ok.status, 200, label);
    await h.stop();
  }
});

test('long chain and IP-address certificates (IPv4 without SNI, IPv6 ::1)', async () => {
  const { root: longRoot, issuer } = createChain(4, 'HTTP long');
  const leaf = issueCert(issuer, { dnsNames: ['long.test'], ipAddresses: ['127.0.0.5', '::1'] });
  const h4 = await host({ address: '127.0.0.5', tls: leaf, handler: echo });
  const got = await request({ tls: true, host: 'long.test', lookup: ((_h: string, o: unknown, cb: (e: null, a: string, f: number) => void) => {
    if (typeof o === 'function') (o as typeof cb)(null, '127.0.0.5', 4);
    else if ((o as { all?: boolean })?.all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.5', family: 4 }]);
    else cb(null, '127.0.0.5', 4);
  }) as never, port: h4.port, ca: longRoot.certPem, path: '/' });
  assert.equal(got.status, 200);
  let c: tls.DetailedPeerCertificate = (got.socket as tls.TLSSocket).getPeerCertificate(true);
  let depth = 0;
  while (c.issuerCertificate && c.issuerCertificate !== c) {
    c = c.issuerCertificate;
    depth++;
  }
  assert.ok(depth >= 5, `chain depth ${depth}`);

  // connect by IP: node sends no SNI for an IP host and checks the IP SAN
  const byIp = await request({ tls: true, host: '127.0.0.5', port: h4.port, ca: longRoot.certPem, path: '/' });
  assert.equal(byIp.status, 200);
  assert.equal((byIp.socket as tls.TLSSocket).authorized, true);

  const h6 = await host({ address: '::1', tls: leaf, handler: echo });
  assert.match(h6.origin, /^https:\/\/\[::1\]:\d+$/);
  const v6 = await request({ tls: true, host: '::1', port: h6.port, ca: longRoot.certPem, path: '/v6' });
  assert.equal(v6.status, 200);
  assert.equal(JSON.parse(v6.body).url, '/v6');
  // an IP the certificate does not cover
  const h7 = await host({ address: '127.0.0.7', tls: leaf, handler: echo });
  assert.equal(await errCode(request({ tls: true, host: '127.0.0.7', port: h7.port, ca: longRoot.certPem, path: '/' })), 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('faults: refuse, silent, tls-stall, reset, plain-http-on-tls', async () => {
  const leaf = issueCert(inter, { dnsNames: ['hs.test'] });
  const base = { address: '127.0.0.6', tls: leaf, handler: echo } as const;
  const tlsReq = (port: number, timeout = 3000) =>
    request({ tls: true, host: '127.0.0.6', port, servername: 'hs.test', ca: root.certPem, path: '/' }, timeout);

  const refused = await host({ ...base, fault: 'refuse' });
  assert.ok(refused.port > 0);
  assert.equal(await errCode(tlsReq(refused.port)), 'ECONNREFUSED');
  assert.equal(refused.connections, 0);

  const silent = await host({ ...base, fault: 'silent' });
  assert.equal(await errCode(tlsReq(silent.port, 300)), 'TEST_TIMEOUT');
  assert.equal(silent.connections, 1);

  const stall = await host({ ...base, fault: 'tls-stall' });
  assert.equal(await errCode(tlsReq(stall.port, 300)), 'TEST_TIMEOUT');
  assert.equal(stall.connections, 1);

  const reset = await host({ ...base, fault: 'reset' });
  assert.equal(await errCode(tlsReq(reset.port)), 'ECONNRESET');
  assert.equal(await errCode(request({ host: '127.0.0.6', port: reset.port, path: '/' })), 'ECONNRESET');

  const plain = await host({ ...base, fault: 'plain-http-on-tls' });
  assert.match(plain.origin, /^http:/);
  const tlsCode = await errCode(tlsReq(plain.port));
  assert.match(tlsCode, /^ERR_SSL_|^EPROTO$/, `got ${tlsCode}`);
  const overHttp = await request({ host: '127.0.0.6', port: plain.port, path: '/plain' });
  assert.equal(overHttp.status, 200);
  assert.equal(JSON.parse(overHttp.body).url, '/plain');
});

test('stop() ends stalled connections and does not hang', async () => {
  const h = await startHost({ address: '127.0.0.8', fault: 'silent' });
  const s = net.connect(h.port, '127.0.0.8');
  s.on('error', () => undefined);
  await new Promise((resolve) => s.once('connect', resolve));
  const closed = new Promise((resolve) => s.once('close', resolve));
  const t0 = Date.now();
  await h.stop();
  await closed;
  assert.ok(Date.now() - t0 < 1000);

  // a handler that never answers is cut off too
  const hang = await startHost({ address: '127.0.0.8', handler: () => undefined });
  const p = errCode(request({ host: '127.0.0.8', port: hang.port, path: '/' }, 5000));
  await new Promise((r) => setTimeout(r, 50));
  await hang.stop();
  assert.equal(await p, 'ECONNRESET');
});

test('rttMs: each round trip costs ~rttMs, the first exchange one more (TCP handshake)', async () => {
  const rtt = 80;
  const h = await host({ address: '127.0.0.9', handler: echo, rttMs: rtt });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const timed = async () => {
      const t0 = performance.now();
      const got = await request({ host: '127.0.0.9', port: h.port, path: '/t', agent });
      assert.equal(got.status, 200);
      return performance.now() - t0;
    };
    const fresh = await timed();
    const reused = await timed();
    assert.ok(fresh >= 2 * rtt - 5, `fresh connection took ${fresh} ms`);
    assert.ok(reused >= rtt - 5, `kept-alive request took ${reused} ms`);
    assert.ok(reused < fresh, `kept-alive ${reused} ms should be cheaper than fresh ${fresh} ms`);
    assert.equal(h.connections, 1);
  } finally {
    agent.destroy();
  }

  // TLS 1.3 over the relay: handshake adds one RTT; a reset propagates through the relay
  const leaf = issueCert(inter, { dnsNames: ['hs.test'] });
  const ht = await host({ address: '127.0.0.9', tls: leaf, handler: echo, rttMs: rtt });
  const t0 = performance.now();
  const got = await request({ tls: true, host: '127.0.0.9', port: ht.port, servername: 'hs.test', ca: root.certPem, path: '/' });
  const ms = performance.now() - t0;
  assert.equal(got.status, 200);
  assert.equal((got.socket as tls.TLSSocket).getProtocol(), 'TLSv1.3');
  assert.ok(ms >= 3 * rtt - 5, `fresh HTTPS took ${ms} ms`);
  const hr = await host({ address: '127.0.0.9', fault: 'reset', rttMs: rtt });
  assert.equal(await errCode(request({ host: '127.0.0.9', port: hr.port, path: '/' })), 'ECONNRESET');
});

test('homeserver: version, signed keys, health, 404/405 M_UNRECOGNIZED, extra routes', async () => {
  const key = generateSigningKey('lab1');
  const handler = homeserverHandler({
    serverName: 'hs.test',
    signingKey: key,
    routes: {
      'GET /.well-known/matrix/server': { status: 200, body: { 'm.server': 'hs.test:443' } },
      '/custom': (_req, res) => {
        res.writeHead(418);
        res.end('teapot');
      },
      '/_matrix/federation/v1/version': { status: 500, body: 'broken', headers: { 'Content-Type': 'text/plain' } },
    },
  });
  const leaf = issueCert(inter, { dnsNames: ['hs.test'] });
  const h = await host({ address: '127.0.0.10', tls: leaf, handler });
  const get = (path: string, method = 'GET') =>
    request({ tls: true, host: '127.0.0.10', port: h.port, servername: 'hs.test', ca: root.certPem, path, method, headers: { host: 'hs.test' } });

  const keys = await get('/_matrix/key/v2/server');
  assert.equal(keys.status, 200);
  assert.match(String(keys.headers['content-type']), /^application\/json/);
  const doc = JSON.parse(keys.body);
  assert.equal(doc.server_name, 'hs.test');
  assert.deepEqual(doc.verify_keys, { 'ed25519:lab1': { key: key.publicKey } });
  assert.deepEqual(doc.old_verify_keys, {});
  const day = 24 * 3600_000;
  assert.ok(Math.abs(doc.valid_until_ts - (Date.now() + day)) < 60_000);
  assert.deepEqual(verifyJsonSignature(doc, 'hs.test', 'ed25519:lab1', key.publicKey), { ok: true });

  const health = await get('/health');
  assert.equal(health.status, 200);
  assert.equal(health.body, 'OK');
  assert.match(String(health.headers['content-type']), /^text\/plain/);

  const unknown = await get('/_matrix/federation/v1/nope?x=1');
  assert.equal(unknown.status, 404);
  assert.deepEqual(JSON.parse(unknown.body), { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  const post = await get('/_matrix/key/v2/server', 'POST');
  assert.equal(post.status, 405);
  assert.equal(JSON.parse(post.body).errcode, 'M_UNRECOGNIZED');
  const other = await get('/somewhere');
  assert.equal(other.status, 404);
  assert.match(String(other.headers['content-type']), /^text\/plain/);

  const wk = await get('/.well-known/matrix/server');
  assert.deepEqual(JSON.parse(wk.body), { 'm.server': 'hs.test:443' });
  assert.match(String(wk.headers['content-type']), /^application\/json/);
  assert.equal((await get('/custom')).status, 418);
  const overridden = await get('/_matrix/federation/v1/version');
  assert.equal(overridden.status, 500);
  assert.equal(overridden.body, 'broken');
  assert.equal(overridden.headers['content-type'], 'text/plain');

  assert.ok(handler.requests.some((r) => r.url === '/_matrix/federation/v1/nope?x=1' && r.headers.host === 'hs.test'));

  // default software block and health switch
  const plainHs = homeserverHandler({ serverName: 'hs.test', health: false });
  const hp = await host({ address: '127.0.0.10', handler: plainHs });
  const version = await request({ host: '127.0.0.10', port: hp.port, path: '/_matrix/federation/v1/version' });
  assert.deepEqual(JSON.parse(version.body), { server: { name: 'fedcheck-lab', version: '0.1.0-lab' } });
  assert.equal((await request({ host: '127.0.0.10', port: hp.port, path: '/health' })).status, 404);
  const custom = homeserverHandler({ serverName: 'x', software: { name: 'Synapse', version: '1.2.3' } });
  const hc = await host({ address: '127.0.0.10', handler: custom });
  const v2 = await request({ host: '127.0.0.10', port: hc.port, path: '/_matrix/federation/v1/version' });
  assert.deepEqual(JSON.parse(v2.body), { server: { name: 'Synapse', version: '1.2.3' } });
});

test('homeserver keyOverrides break the key response in the intended ways', () => {
  const key = generateSigningKey('good');
  const rogue = generateSigningKey('rogue');
  const verifyOwn = (doc: Record<string, unknown>, serverName = 'hs.test') => {
    const vk = doc.verify_keys as Record<string, { key: string }>;
    return Object.entries(vk).map(([kid, { key: k }]) => verifyJsonSignature(doc, serverName, kid, k).ok);
  };
  const make = (keyOverrides: Parameters<typeof homeserverHandler>[0]['keyOverrides']) =>
    homeserverHandler({ serverName: 'hs.test', signingKey: key, keyOverrides }).keyResponse() as Record<string, unknown>;

  assert.deepEqual(verifyOwn(make(undefined)), [true]);

  const wrongName = make({ serverName: 'other.test' });
  assert.equal(wrongName.server_name, 'other.test');
  assert.deepEqual(verifyOwn(wrongName), [false]); // no signature filed under hs.test
  assert.deepEqual(verifyOwn(wrongName, 'other.test'), [true]); // self-consistent under its own name

  const expired = make({ validUntilTs: Date.now() - 1000 });
  assert.ok((expired.valid_until_ts as number) < Date.now());
  assert.deepEqual(verifyOwn(expired), [true]);

  const notListed = make({ signWith: rogue });
  assert.deepEqual(Object.keys((notListed.signatures as Record<string, object>)['hs.test']!), ['ed25519:rogue']);
  assert.equal(verifyJsonSignature(notListed, 'hs.test', 'ed25519:good', key.publicKey).ok, false);

  const tampered = make({ tamper: { valid_until_ts: 1 } });
  assert.equal(tampered.valid_until_ts, 1);
  assert.deepEqual(verifyJsonSignature(tampered, 'hs.test', 'ed25519:good', key.publicKey), { ok: false, reason: 'signature does not verify' });

  const fnTampered = make({ tamper: (d) => ({ ...d, verify_keys: { 'ed25519:good': { key: bogusKey() } } }) });
  assert.deepEqual(verifyOwn(fnTampered), [false]);

  const unsigned = make({ unsigned: true });
  assert.equal(unsigned.signatures, undefined);

  const withOld = make({ oldVerifyKeys: { 'ed25519:old': { key: bogusKey(1), expired_ts: 5 } } });
  assert.deepEqual(withOld.old_verify_keys, { 'ed25519:old': { key: bogusKey(1), expired_ts: 5 } });
  assert.deepEqual(verifyOwn(withOld), [true]);

  assert.equal(make({ rawBody: 'not json' }) as unknown, 'not json');
});
