/**
 * The structure that makes a check fast (docs/performance.md), asserted without timing:
 * - one connection per address, all of that address's probes pipelined on it, every address
 *   probed at once (the servers hold their answers until every request has arrived: a sequential
 *   or blocking client would sit until the gate gives up);
 * - the certificate in the evidence is the one of the connection the probes used;
 * - one TLS context per run, yet no session is ever resumed, and a context with extra CAs does
 *   not leak them into Node's default store.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { X509Certificate } from 'node:crypto';
import { startHost, type LabHost } from '../../src/lab/http-host.js';
import { certFor, labCas } from '../../src/lab/deployment.js';
import { homeserverHandler } from '../../src/lab/homeserver.js';
import { makeNetContext, prepare } from '../../src/run/gather.js';
import { Connection, secureContextFor } from '../../src/net/http.js';
import { probeAddresses } from '../../src/probes/address.js';
import type { RunOptions } from '../../src/run/options.js';
import type { Resolution } from '../../src/core/types.js';

process.env.FEDCHECK_LOOPBACK_ONLY = '1';

const hosts: LabHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});

function runOptions(connectTo: string[], withLabCa = true): RunOptions {
  return { resolvers: [], resolve: [], connectTo, cacert: [], extraCaPems: withLabCa ? [labCas().root.certPem] : [], family: 0, timeoutMs: 10_000, backend: null };
}

/** A handler that answers nothing until `expected` requests have arrived (across all hosts sharing the gate), or `giveUpMs`. */
function gate(expected: number, giveUpMs: number) {
  const waiting: Array<() => void> = [];
  let seen = 0;
  const state = { allArrivedBeforeAnyAnswer: false };
  const release = () => waiting.splice(0).forEach((f) => f());
  const timer = setTimeout(release, giveUpMs);
  const wrap = (inner: http.RequestListener): http.RequestListener => (req, res) => {
    seen++;
    waiting.push(() => inner(req, res));
    if (seen === expected) {
      state.allArrivedBeforeAnyAnswer = true;
      clearTimeout(timer);
      release();
    }
  };
  return { wrap, state };
}

test('every address is probed at once, on one connection each, with its probes pipelined', async () => {
  const name = 'hs.perf.test';
  const cert = certFor({ names: [name] });
  const g = gate(6, 3000);
  const a = await startHost({ address: '127.0.0.31', tls: cert, handler: g.wrap(homeserverHandler({ serverName: name })) });
  const b = await startHost({ address: '127.0.0.32', tls: cert, handler: g.wrap(homeserverHandler({ serverName: name })) });
  hosts.push(a, b);
  const opts = runOptions([`127.0.0.31:8448:127.0.0.31:${a.port}`, `127.0.0.32:8448:127.0.0.32:${b.port}`]);
  const ctx = makeNetContext(opts, prepare(opts), Date.now() + 10_000, name);
  const resolution: Resolution = {
    method: 'explicit-port',
    delegatedServerName: null,
    hostHeader: `${name}:8448`,
    tlsServerName: name,
    certificateName: name,
    targets: [{ host: name, port: 8448, addresses: ['127.0.0.31', '127.0.0.32'] }],
  };
  const ev = await probeAddresses(ctx, resolution);
  assert.ok(g.state.allArrivedBeforeAnyAnswer, 'all six requests (3 per address) reached the servers before any was answered');
  assert.equal(a.connections, 1, 'one connection to the first address');
  assert.equal(b.connections, 1, 'one connection to the second address');
  const leaf = new X509Certificate(cert.certPem).raw.toString('base64');
  for (const e of ev) {
    for (const x of [e.version, e.keys, e.health]) assert.equal(x.response?.status, 200, `${e.target} ${x.path}: ${x.error?.message}`);
    assert.ok(e.tls, `${e.target}: TLS evidence`);
    assert.equal(e.tls.chain[0], leaf, 'the certificate comes from the connection the probes used');
    assert.equal(e.tls.sessionReused, false);
    assert.equal(e.tls.chainAuthorized, true, `${e.tls.chainError}`);
  }
});

test('one TLS context per run; no session is resumed; extra CAs stay out of the default store', async () => {
  const name = 'ctx.perf.test';
  const h = await startHost({ address: '127.0.0.33', tls: certFor({ names: [name] }), handler: (_q, r) => r.end('ok') });
  hosts.push(h);
  const connect = [`127.0.0.33:443:127.0.0.33:${h.port}`];
  const withCa = runOptions(connect);
  const ctx = makeNetContext(withCa, prepare(withCa), Date.now() + 10_000, name);
  assert.equal(secureContextFor(ctx.trust), secureContextFor(ctx.trust), 'the context is built once per trust store');
  for (let i = 0; i < 3; i++) {
    const c = new Connection(ctx, { scheme: 'https', address: '127.0.0.33', port: h.port, servername: name });
    const x = await c.request({ path: '/', hostHeader: name });
    await c.close();
    assert.equal(x.response?.status, 200);
    assert.equal(x.tls?.sessionReused, false, `connection ${i + 1} resumed a session`);
    assert.equal(x.tls?.chainAuthorized, true, `connection ${i + 1}: ${x.tls?.chainError}`);
  }
  const without = runOptions(connect, false);
  const plain = makeNetContext(without, prepare(without), Date.now() + 10_000, name);
  const c = new Connection(plain, { scheme: 'https', address: '127.0.0.33', port: h.port, servername: name });
  const x = await c.request({ path: '/', hostHeader: name });
  await c.close();
  assert.equal(x.tls?.chainAuthorized, false, 'without --cacert the lab CA is not trusted');
});

test('a leaf-only connection verifies the chain without building the detailed chain; a probe connection keeps the whole chain', async () => {
  const tlsMod = await import('node:tls');
  const name = 'leaf.perf.test';
  const good = await startHost({ address: '127.0.0.33', tls: certFor({ names: [name] }), handler: (_q, r) => r.end('ok') });
  const bad = await startHost({ address: '127.0.0.34', tls: certFor({ names: [name], untrusted: true }), handler: (_q, r) => r.end('ok') });
  hosts.push(good, bad);
  const opts = runOptions([]);
  const ctx = makeNetContext(opts, prepare(opts), Date.now() + 10_000, 'perf');
  const proto = tlsMod.TLSSocket.prototype;
  const original = proto.getPeerCertificate;
  let detailedCalls = 0;
  proto.getPeerCertificate = function (this: InstanceType<typeof tlsMod.TLSSocket>, detailed?: boolean) {
    if (detailed) detailedCalls++;
    return original.call(this, detailed as true);
  } as typeof original;
  try {
    const ask = async (host: LabHost, wholeChain: boolean) => {
      const c = new Connection(ctx, { scheme: 'https', address: host.address, port: host.port, servername: name }, { wholeChain });
      const ex = await c.request({ path: '/', hostHeader: name });
      await c.close();
      return ex;
    };
    detailedCalls = 0;
    const leafOnly = await ask(good, false);
    assert.equal(detailedCalls, 0, 'no detailed chain was built for a leaf-only connection');
    assert.equal(leafOnly.response?.status, 200);
    assert.equal(leafOnly.tls?.chainAuthorized, true);
    assert.equal(leafOnly.tls?.chainLeafOnly, true);
    assert.equal(leafOnly.tls?.chain.length, 1);
    assert.equal(new X509Certificate(Buffer.from(leafOnly.tls!.chain[0]!, 'base64')).checkHost(name), name);
    // an untrusted chain is still reported as such
    const untrusted = await ask(bad, false);
    assert.equal(untrusted.tls?.chainAuthorized, false);
    assert.ok(untrusted.tls?.chainError, 'the verification error is kept');
    assert.equal(untrusted.tls?.chain.length, 1);
    detailedCalls = 0;
    const whole = await ask(good, true);
    assert.equal(detailedCalls, 1, 'the probe connection builds the detailed chain once');
    assert.equal(whole.tls?.chainLeafOnly, undefined);
    assert.ok(whole.tls!.chain.length >= 2, `whole chain kept (${whole.tls!.chain.length})`);
  } finally {
    proto.getPeerCertificate = original;
  }
});
