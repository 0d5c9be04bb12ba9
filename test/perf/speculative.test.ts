/**
 * Speculative lookups (spec §1 with the independent steps started early, docs/performance.md),
 * asserted on what the lab's DNS server saw — not on timing:
 * - the server name's SRV lookups are asked before its well-known is answered;
 * - the SRV targets' addresses are asked before the well-known is answered (the server holds
 *   its 404 until it sees them: a client that waited for the well-known first would sit until
 *   the gate gives up, and the assertion fails);
 * - with a delegated name without port, its A/AAAA are asked alongside its SRV, even when the
 *   SRV answer makes them unnecessary — while the decision still follows the spec's order.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { startDnsServer, type LabDnsServer, type Zone } from '../../src/lab/dns-server.js';
import { startHost, type LabHost } from '../../src/lab/http-host.js';
import { certFor, labCas } from '../../src/lab/deployment.js';
import { homeserverHandler } from '../../src/lab/homeserver.js';
import { gatherServer, prepare } from '../../src/run/gather.js';
import type { RunOptions } from '../../src/run/options.js';

process.env.FEDCHECK_LOOPBACK_ONLY = '1';

const stops: Array<{ stop(): Promise<void> }> = [];
after(async () => {
  await Promise.all(stops.map((s) => s.stop()));
});

const asked = (dns: LabDnsServer, name: string, type: string) => dns.queries.some((q) => q.name.toLowerCase() === name && q.type === type);

/** Wait (up to `ms`) until `cond` holds; true if it did. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** A web server whose /.well-known/matrix/server answer waits for `ready` (other paths: 404 at once). */
function wellKnown(ready: () => boolean, seen: { whenAsked: boolean | null; beforeAnswer: boolean | null }, answer: { status: number; body: string }, whenAsked: () => boolean): http.RequestListener {
  return (req, res) => {
    if (req.url !== '/.well-known/matrix/server') {
      res.writeHead(404).end();
      return;
    }
    seen.whenAsked = whenAsked();
    void until(ready, 3000).then((ok) => {
      seen.beforeAnswer = ok;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  };
}

async function lab(zone: Zone, hosts: Array<{ address: string; port: number; names: string[]; handler: http.RequestListener }>): Promise<{ dns: LabDnsServer; opts: RunOptions }> {
  const dns = await startDnsServer(zone);
  stops.push(dns);
  const connectTo: string[] = [];
  for (const h of hosts) {
    const s: LabHost = await startHost({ address: h.address, tls: certFor({ names: h.names }), handler: h.handler });
    stops.push(s);
    connectTo.push(`${h.address}:${h.port}:${s.address}:${s.port}`);
  }
  return { dns, opts: { resolvers: [dns.address], resolve: [], connectTo, cacert: [], extraCaPems: [labCas().root.certPem], family: 0, timeoutMs: 10_000, backend: null } };
}

test('SRV path: the server name SRV and the SRV targets are resolved while the well-known is in flight', async () => {
  const H = 'spec.test';
  const seen = { whenAsked: null as boolean | null, beforeAnswer: null as boolean | null };
  let dns!: LabDnsServer;
  const env = await lab(
    {
      [H]: { A: ['127.0.0.41'] },
      [`_matrix-fed._tcp.${H}`]: { SRV: [{ priority: 10, weight: 0, port: 8448, target: 't.spec.net' }] },
      't.spec.net': { A: ['127.0.0.42'] },
    },
    [
      { address: '127.0.0.41', port: 443, names: [H], handler: wellKnown(() => asked(dns, 't.spec.net', 'A'), seen, { status: 404, body: '{}' }, () => asked(dns, `_matrix-fed._tcp.${H}`, 'SRV')) },
      { address: '127.0.0.42', port: 8448, names: [H], handler: homeserverHandler({ serverName: H }) },
    ],
  );
  dns = env.dns;
  const ev = await gatherServer(H, env.opts, prepare(env.opts));
  assert.equal(seen.whenAsked, true, 'SRV _matrix-fed._tcp.spec.test was asked before the well-known request arrived');
  assert.equal(seen.beforeAnswer, true, 'the SRV target t.spec.net was resolved before the well-known was answered');
  assert.equal(ev.discovery?.resolution?.method, 'srv');
  assert.deepEqual(ev.discovery?.resolution?.targets, [{ host: 't.spec.net', port: 8448, addresses: ['127.0.0.42'] }]);
});

test('delegation without port: A/AAAA of the delegated name are asked alongside its SRV; the decision follows the spec', async () => {
  const H = 'deleg.test';
  const D = 'd.deleg.test';
  const seen = { whenAsked: null as boolean | null, beforeAnswer: null as boolean | null };
  let dns!: LabDnsServer;
  const env = await lab(
    {
      [H]: { A: ['127.0.0.43'] },
      [D]: { A: ['127.0.0.45'] },
      [`_matrix-fed._tcp.${D}`]: { SRV: [{ priority: 10, weight: 0, port: 8448, target: 't2.deleg.net' }] },
      't2.deleg.net': { A: ['127.0.0.44'] },
    },
    [
      { address: '127.0.0.43', port: 443, names: [H], handler: wellKnown(() => true, seen, { status: 200, body: JSON.stringify({ 'm.server': D }) }, () => asked(dns, `_matrix-fed._tcp.${H}`, 'SRV') && asked(dns, `_matrix._tcp.${H}`, 'SRV')) },
      { address: '127.0.0.44', port: 8448, names: [D], handler: homeserverHandler({ serverName: H }) },
    ],
  );
  dns = env.dns;
  const ev = await gatherServer(H, env.opts, prepare(env.opts));
  assert.equal(seen.whenAsked, true, "the server name's SRV lookups were in flight before the well-known request arrived");
  assert.equal(ev.discovery?.resolution?.method, 'well-known-srv', 'the SRV record decides (spec §1 step 3.3)');
  assert.deepEqual(ev.discovery?.resolution?.targets, [{ host: 't2.deleg.net', port: 8448, addresses: ['127.0.0.44'] }]);
  assert.ok(asked(dns, D, 'A') && asked(dns, D, 'AAAA'), `A/AAAA of ${D} were asked speculatively alongside its SRV`);
  assert.ok(asked(dns, `_matrix-fed._tcp.${D}`, 'SRV'));
});
