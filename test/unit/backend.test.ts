/**
 * The stand-in backend (`fedcheck backend`): homeserver endpoints, signed keys, the echo (including
 * targets Node's parser refuses), the homeserver-like routing of echo-less mode, the command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import {
  BACKEND_SERVER_NAME,
  ListenError,
  parseListen,
  parseRawHead,
  runBackendCommand,
  startBackend,
  type EchoRecord,
  type RunningBackend,
} from '../../src/backend/server.js';
import { verifyJsonSignature } from '../../src/core/signing.js';

let be: RunningBackend;
let hs: RunningBackend;
before(async () => {
  be = await startBackend({ listen: '127.0.0.1:0', serverName: 'example.com' });
  hs = await startBackend({ listen: '127.0.0.1:0', serverName: 'example.com', echo: false });
});
after(async () => {
  await be.stop();
  await hs.stop();
});

/** One raw HTTP/1.1 exchange (Connection: close); returns status line, headers text and body. */
function raw(port: number, request: Buffer | string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(request));
    let d = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (d = Buffer.concat([d, c])));
    s.on('error', reject);
    s.on('close', () => {
      const t = d.toString('utf8');
      const i = t.indexOf('\r\n\r\n');
      resolve({ status: +t.slice(9, 12), head: t.slice(0, i), body: t.slice(i + 4) });
    });
  });
}

function get(port: number, target: string, headers = ''): Promise<{ status: number; head: string; body: string }> {
  return raw(port, `GET ${target} HTTP/1.1\r\nHost: example.com\r\n${headers}Connection: close\r\n\r\n`);
}

test('listens on loopback with a real port', () => {
  assert.equal(be.address, '127.0.0.1');
  assert.ok(be.port > 0);
  assert.equal(be.url, `http://127.0.0.1:${be.port}`);
});

test('federation version names fedcheck-backend', async () => {
  const r = await get(be.port, '/_matrix/federation/v1/version');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body).server.name, BACKEND_SERVER_NAME);
});

test('server keys are signed with its own ephemeral key', async () => {
  for (const path of ['/_matrix/key/v2/server', `/_matrix/key/v2/server/${encodeURIComponent(be.keyId)}`]) {
    const r = await get(be.port, path);
    assert.equal(r.status, 200, path);
    const keys = JSON.parse(r.body) as Record<string, unknown> & { verify_keys: Record<string, { key: string }>; valid_until_ts: number };
    assert.equal(keys.server_name, 'example.com');
    assert.equal(keys.verify_keys[be.keyId]!.key, be.publicKey);
    assert.ok(keys.valid_until_ts > Date.now());
    assert.deepEqual(verifyJsonSignature(keys, 'example.com', be.keyId, be.publicKey), { ok: true });
  }
});

test('/health, client versions, unknown /_matrix → 404 M_UNRECOGNIZED, no Server header', async () => {
  const h = await get(be.port, '/health');
  assert.equal(h.status, 200);
  assert.equal(h.body, 'OK');
  assert.ok(!/^server:/im.test(h.head), 'no Server header: the proxy\'s own shows through');
  const v = await get(be.port, '/_matrix/client/versions');
  assert.ok(JSON.parse(v.body).versions.includes('v1.11'));
  const u = await get(be.port, '/_matrix/federation/v1/nonexistent');
  assert.equal(u.status, 404);
  assert.equal(JSON.parse(u.body).errcode, 'M_UNRECOGNIZED');
  const post = await raw(be.port, 'POST /_matrix/federation/v1/version HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  assert.equal(post.status, 405);
});

test('echo: exact raw target, raw headers in order, version, body length, peer address', async () => {
  const target = '/_matrix/federation/v1/event/%24abc%2Fdef%3aexample.com/../x//y?b=2&a=%2F';
  const body = 'x'.repeat(1234);
  const r = await raw(
    be.port,
    `PUT ${target} HTTP/1.1\r\nHost: matrix.example.com:8448\r\nX-Forwarded-For: 192.0.2.1\r\nx-forwarded-for: 127.0.0.1\r\nX-Fedcheck-Probe: n.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  assert.equal(r.status, 200);
  const e = JSON.parse(r.body) as EchoRecord;
  assert.equal(e.fedcheck_echo, 1);
  assert.equal(e.probe, 'n.1');
  assert.equal(e.rawTarget, target);
  assert.equal(e.method, 'PUT');
  assert.equal(e.httpVersion, '1.1');
  assert.deepEqual(e.headers.slice(0, 4), [
    ['Host', 'matrix.example.com:8448'],
    ['X-Forwarded-For', '192.0.2.1'],
    ['x-forwarded-for', '127.0.0.1'],
    ['X-Fedcheck-Probe', 'n.1'],
  ]);
  assert.equal(e.bodyLength, 1234);
  assert.equal(e.declaredLength, 1234);
  assert.equal(e.remoteAddress, '127.0.0.1');
  assert.equal(e.rawTargetBase64, undefined);
});

test('echo by path prefix, HTTP/1.0 and chunked bodies', async () => {
  const r = await raw(be.port, 'GET /_matrix/fedcheck/echo/x HTTP/1.0\r\nHost: a\r\n\r\n');
  const e = JSON.parse(r.body) as EchoRecord;
  assert.equal(e.probe, null);
  assert.equal(e.httpVersion, '1.0');
  const c = await raw(be.port, 'POST /_matrix/fedcheck/echo/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n');
  assert.equal((JSON.parse(c.body) as EchoRecord).bodyLength, 8);
});

test('echo of targets Node refuses (raw UTF-8): built from the raw bytes', async () => {
  const req = Buffer.concat([Buffer.from('GET /_matrix/client/v3/profile/@'), Buffer.from('élève', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: a\r\nX-Fedcheck-Probe: n.2\r\n\r\n')]);
  const r = await raw(be.port, req);
  assert.equal(r.status, 200);
  const e = JSON.parse(r.body) as EchoRecord;
  assert.equal(e.rawTarget, '/_matrix/client/v3/profile/@élève');
  assert.equal(Buffer.from(e.rawTargetBase64!, 'base64').toString('utf8'), e.rawTarget);
  assert.ok(e.parseError);
  assert.equal(e.probe, 'n.2');
  // without the probe header such a request is just refused
  const r2 = await raw(be.port, Buffer.concat([Buffer.from('GET /x/'), Buffer.from('é', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: a\r\n\r\n')]));
  assert.equal(r2.status, 400);
});

test('echo-less mode routes like a homeserver: auth errors on known routes, M_UNRECOGNIZED when a decoded / adds a segment', async () => {
  const ok = await get(hs.port, '/_matrix/federation/v1/event/%24abc%2Fdef', 'X-Fedcheck-Probe: n\r\n');
  assert.equal(ok.status, 401);
  assert.equal(JSON.parse(ok.body).errcode, 'M_UNAUTHORIZED');
  const split = await get(hs.port, '/_matrix/federation/v1/event/$abc/def');
  assert.equal(split.status, 404);
  assert.equal(JSON.parse(split.body).errcode, 'M_UNRECOGNIZED');
  const client = await get(hs.port, '/_matrix/client/v3/rooms/%21r%3Aex/event/%24e');
  assert.equal(JSON.parse(client.body).errcode, 'M_MISSING_TOKEN');
  const v = await get(hs.port, '/_matrix/federation/v1/version');
  assert.equal(JSON.parse(v.body).server.name, BACKEND_SERVER_NAME);
});

test('parseListen and parseRawHead', () => {
  assert.deepEqual(parseListen('127.0.0.1:8008'), { host: '127.0.0.1', port: 8008 });
  assert.deepEqual(parseListen('[::1]:8009'), { host: '::1', port: 8009 });
  assert.deepEqual(parseListen('8010'), { host: '127.0.0.1', port: 8010 });
  assert.deepEqual(parseListen('localhost:0'), { host: '127.0.0.1', port: 0 });
  assert.throws(() => parseListen('::1:8008'), ListenError);
  assert.throws(() => parseListen('example.com:8008'), ListenError);
  assert.throws(() => parseListen('127.0.0.1:99999'), ListenError);
  const h = parseRawHead(Buffer.from('GET /a%00 HTTP/1.0\r\nHost: x\r\nx-fedcheck-probe: p\r\n\r\n'));
  assert.equal(h?.method, 'GET');
  assert.equal(h?.target.toString(), '/a%00');
  assert.equal(h?.httpVersion, '1.0');
  assert.equal(h?.probe, 'p');
  assert.equal(parseRawHead(Buffer.from('garbage')), null);
});

test('runBackendCommand: prints where it listens, stops on abort with 0; a bad --listen exits 2', async () => {
  const ac = new AbortController();
  let out = '';
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const done = runBackendCommand({ listen: `127.0.0.1:${port}`, serverName: 'example.org', signal: ac.signal, stdout: (t) => (out += t), stderr: () => undefined });
  for (let i = 0; i < 50 && !out; i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
  const v = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/_matrix/federation/v1/version' }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  assert.match(v, /fedcheck-backend/);
  ac.abort();
  assert.equal(await done, 0);
  let err = '';
  assert.equal(await runBackendCommand({ listen: 'nonsense:x', stderr: (t) => (err += t), stdout: () => undefined }), 2);
  assert.match(err, /--listen/);
  // a port already in use
  err = '';
  assert.equal(await runBackendCommand({ listen: `127.0.0.1:${be.port}`, stderr: (t) => (err += t), stdout: () => undefined }), 2);
  assert.match(err, /already in use/);
});
