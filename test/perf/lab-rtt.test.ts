/**
 * The lab's simulated RTT reaches every server the benchmark's figures depend on. Only lower
 * bounds are asserted (a slow machine can add time, never remove it), so these do not flake.
 * (test/unit/lab-http.test.ts covers plain HTTP/HTTPS exchanges through the relay.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { startDnsServer } from '../../src/lab/dns-server.js';
import { startHost, type LabHost } from '../../src/lab/http-host.js';
import { certFor, labCas } from '../../src/lab/deployment.js';
import { makeNetContext, prepare } from '../../src/run/gather.js';
import { Connection } from '../../src/net/http.js';
import type { RunOptions } from '../../src/run/options.js';

process.env.FEDCHECK_LOOPBACK_ONLY = '1';
const RTT = 100;
const SLACK = 5; // timers may fire a little early relative to performance.now()

const stops: Array<{ stop(): Promise<void> }> = [];
after(async () => {
  await Promise.all(stops.map((s) => s.stop()));
});

test('DNS: a UDP answer costs one RTT; a TCP retry (truncated UDP answer) two more (handshake + answer)', async () => {
  const dns = await startDnsServer({ 'u.test': { A: ['127.0.0.1'] }, 't.test': { A: ['127.0.0.1'], fault: 'truncate' } }, { rttMs: RTT });
  stops.push(dns);
  const r = new Resolver({ timeout: 5000, tries: 1 });
  r.setServers([dns.address]);
  let t0 = performance.now();
  assert.deepEqual(await r.resolve4('u.test'), ['127.0.0.1']);
  assert.ok(performance.now() - t0 >= RTT - SLACK, `UDP answer after ${performance.now() - t0} ms`);
  t0 = performance.now();
  assert.deepEqual(await r.resolve4('t.test'), ['127.0.0.1']);
  const ms = performance.now() - t0;
  assert.ok(dns.queries.some((q) => q.name === 't.test' && q.transport === 'tcp'), 'the client retried over TCP');
  assert.ok(ms >= 3 * RTT - SLACK, `UDP (truncated) then TCP took ${ms} ms, expected ≥ 3 RTT`);
});

test('HTTPS host: a fresh TLS 1.3 request costs 3 RTT (TCP, TLS, request), the next one on the connection 1 RTT', async () => {
  const name = 'rtt.perf.test';
  const h: LabHost = await startHost({ address: '127.0.0.35', tls: certFor({ names: [name] }), rttMs: RTT, handler: (_q, res) => res.end('ok') });
  stops.push(h);
  const opts: RunOptions = { resolvers: [], resolve: [], connectTo: [], cacert: [], extraCaPems: [labCas().root.certPem], family: 0, timeoutMs: 10_000, backend: null };
  const ctx = makeNetContext(opts, prepare(opts), Date.now() + 10_000, name);
  const c = new Connection(ctx, { scheme: 'https', address: '127.0.0.35', port: h.port, servername: name });
  let t0 = performance.now();
  const first = await c.request({ path: '/', hostHeader: name });
  const fresh = performance.now() - t0;
  t0 = performance.now();
  const second = await c.request({ path: '/', hostHeader: name });
  const reused = performance.now() - t0;
  await c.close();
  assert.equal(first.response?.status, 200);
  assert.equal(second.response?.status, 200);
  assert.equal(first.tls?.protocol, 'TLSv1.3');
  assert.equal(h.connections, 1);
  assert.ok(fresh >= 3 * RTT - SLACK, `fresh HTTPS request took ${fresh} ms`);
  assert.ok(reused >= RTT - SLACK, `request on the open connection took ${reused} ms`);
});

test('a refusing host answers ECONNREFUSED at once: the lab does not delay the RST (one RTT optimistic, see docs/performance.md)', async () => {
  const h = await startHost({ address: '127.0.0.36', fault: 'refuse', rttMs: RTT });
  stops.push(h);
  const opts: RunOptions = { resolvers: [], resolve: [], connectTo: [], cacert: [], family: 0, timeoutMs: 10_000, backend: null };
  const ctx = makeNetContext(opts, prepare(opts), Date.now() + 10_000, 'refuse');
  const c = new Connection(ctx, { scheme: 'https', address: '127.0.0.36', port: h.port, servername: null });
  const x = await c.request({ path: '/', hostHeader: 'refuse' });
  await c.close();
  assert.equal(x.error?.code, 'ECONNREFUSED');
});
