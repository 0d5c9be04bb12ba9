/**
 * Never wander (issue 8): fedcheck connects only to the hosts and ports that the spec's resolution
 * of the server name names — the well-known URL and the https redirects it follows (spec §1 step
 * 3: "follow 30x redirects"), the delegated name, SRV targets and ports, port 8448, and for client
 * discovery the base_url the client file names (spec §2.3). A hostile value cannot send it
 * anywhere else:
 *
 *  - redirects to http:, ftp:, gopher:, file:, to port 0 or with credentials are not followed;
 *  - an https redirect is followed to whatever host and port it names (policy in
 *    probes/well-known.ts: as Synapse does), and what goes there starts with a TLS handshake, so
 *    no plaintext request can be smuggled to a non-TLS service;
 *  - an invalid m.server (CR/LF, a URL, a path) is never used for anything;
 *  - a base_url's path cannot inject request lines (it is sent percent-encoded).
 *
 * Every destination a hostile value names gets a recording listener in the lab, and the test
 * asserts which of them were (not) contacted, besides checking every TCP connect of the run
 * against the endpoints the resolution allows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { homeserver, json } from '../../src/lab/scenarios/build.js';
import type { Scenario } from '../../src/lab/scenario-types.js';
import type { Zone } from '../../src/lab/dns-server.js';
import { startHostileLab, type HostileDeployment, type HostileLab } from '../../src/lab/hostile/lab.js';
import { httpResponder, response, type RawConnectionHandler } from '../../src/lab/hostile/raw-host.js';
import { parseConnectTo } from '../../src/net/connect-map.js';
import { assertNoWander, connects, gatherTimed, recordConnects, running, show } from './harness.js';
import type { ServerReport } from '../../src/core/types.js';

recordConnects();

const SN = 'example.org';
const WK = '/.well-known/matrix/server';

/** A plain TCP listener that records and answers nothing useful. */
const recorder: RawConnectionHandler = (c) => {
  c.timer(200, () => c.socket.destroy());
};

interface Case {
  name: string;
  deploy: HostileDeployment;
  /** logical endpoints ("address:port") fedcheck may connect to */
  allowed: string[];
  /** indexes into deploy.raw of listeners that must never be contacted */
  forbidden: number[];
  check?(lab: HostileLab, report: ServerReport): void;
}

function web(name: string, routes: Scenario['hosts'][number]['routes'], zone: Zone = {}, extra: Partial<HostileDeployment> = {}): HostileDeployment {
  return {
    scenario: {
      name,
      title: name,
      group: 'hostile',
      serverName: SN,
      zone: { [SN]: { A: ['127.0.0.2'] }, ...zone },
      hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes }, homeserver('127.0.0.2', 8448, SN, { names: [SN] })],
      expect: {},
    },
    ...extra,
  };
}

const BASE = ['127.0.0.2:443', '127.0.0.2:8448'];

function redirectTo(name: string, location: string, listeners: Array<[string, number]>): Case {
  return {
    name,
    deploy: web(name, { [WK]: { status: 302, redirect: location } }, {}, {
      raw: listeners.map(([address, port]) => ({ address, port, onTcp: recorder })),
    }),
    allowed: BASE,
    forbidden: listeners.map((_, i) => i),
  };
}

const cases: Case[] = [
  redirectTo('redirect to http:// on port 80', 'http://example.org/.well-known/matrix/server', [['127.0.0.2', 80]]),
  redirectTo('redirect to http:// on port 8080', 'http://example.org:8080/.well-known/matrix/server', [['127.0.0.2', 8080]]),
  redirectTo('redirect to ftp://', 'ftp://example.org:21/.well-known/matrix/server', [['127.0.0.2', 21]]),
  redirectTo('redirect to gopher:// at an address literal', 'gopher://127.0.0.2:70/_GET%20/', [['127.0.0.2', 70]]),
  redirectTo('redirect with credentials', 'https://admin:secret@example.org:2222/.well-known/matrix/server', [['127.0.0.2', 2222]]),
  redirectTo('redirect to port 0', 'https://example.org:0/.well-known/matrix/server', []),
  {
    name: 'https redirect to port 22 at an address literal: followed, TLS first',
    deploy: web('redirect-22', { [WK]: { status: 302, redirect: 'https://127.0.0.2:22/.well-known/matrix/server' } }, {}, {
      raw: [{ address: '127.0.0.2', port: 22, onTcp: (c) => c.write('SSH-2.0-OpenSSH_9.6\r\n') }],
    }),
    allowed: [...BASE, '127.0.0.2:22'],
    forbidden: [],
    check(lab) {
      const ssh = lab.raw[0]!;
      assert.equal(ssh.connections, 1, 'the redirect is followed once');
      const first = Buffer.concat(ssh.received[0] ?? []);
      assert.equal(first[0], 0x16, `the first byte sent to port 22 must open a TLS handshake, got ${first.subarray(0, 16).toString('latin1')}`);
    },
  },
  ...[
    ['m.server with CR/LF and a port', 'evil.example:22\r\nX: y'],
    ['m.server as a URL', 'https://evil.example:2222/'],
    ['m.server with a path', 'evil.example:443/x'],
    ['m.server with a userinfo part', 'admin@evil.example:8448'],
  ].map(([title, value]): Case => ({
    name: title!,
    deploy: web(title!, { [WK]: json({ 'm.server': value }) }, { 'evil.example': { A: ['127.0.0.4'] } }, {
      raw: [22, 443, 2222, 8448].map((port) => ({ address: '127.0.0.4', port, onTcp: recorder })),
    }),
    allowed: BASE,
    forbidden: [0, 1, 2, 3],
    check(_lab, report) {
      assert.equal(report.resolution?.method, 'default-port', show(report));
    },
  })),
  {
    name: 'SRV records may name any port (spec); a target with control bytes is only looked up',
    deploy: {
      scenario: {
        name: 'srv-port-22',
        title: '',
        group: 'hostile',
        serverName: SN,
        zone: {
          [SN]: { A: ['127.0.0.2'] },
          [`_matrix-fed._tcp.${SN}`]: { SRV: [{ priority: 1, weight: 1, port: 22, target: 'hs.example.net' }, { priority: 2, weight: 1, port: 23, target: 'evil\r\nHost: x.example.net' }] },
          'hs.example.net': { A: ['127.0.0.3'] },
        },
        hosts: [{ address: '127.0.0.2', port: 443, tls: { names: [SN] }, routes: {} }, homeserver('127.0.0.3', 22, SN, { names: [SN] })],
        expect: {},
      },
      raw: [{ address: '127.0.0.2', port: 23, onTcp: recorder }, { address: '127.0.0.3', port: 23, onTcp: recorder }],
    },
    allowed: ['127.0.0.2:443', '127.0.0.3:22'],
    forbidden: [0, 1],
    check(_lab, report) {
      assert.equal(report.resolution?.method, 'srv', show(report));
      assert.ok(report.checks.some((c) => c.id === 'federation-version' && c.status === 'pass' && c.target === '127.0.0.3:22'), show(report));
    },
  },
  {
    name: 'a client base_url on a plaintext port cannot inject request lines',
    deploy: web('base-url-injection', { '/.well-known/matrix/client': json({ 'm.homeserver': { base_url: 'http://127.0.0.5:6379/%0d%0aSET%20pwned%201%0d%0a' } }) }, {}, {
      raw: [{ address: '127.0.0.5', port: 6379, onConnection: httpResponder((x) => void x.c.write(response(404, 'no'))) }],
    }),
    allowed: [...BASE, '127.0.0.5:6379'],
    forbidden: [],
    check(lab) {
      const redis = lab.raw[0]!;
      const wire = Buffer.concat(redis.received.flat()).toString('latin1');
      assert.ok(redis.requests.length > 0, 'the base_url is validated (spec §2.3)');
      for (const line of wire.split('\r\n')) assert.ok(!/^SET /i.test(line), `a line was injected: ${JSON.stringify(wire)}`);
      const all = JSON.stringify(redis.requests.map((q) => `${q.method} ${q.target}`));
      // the versions request keeps the base path, percent-encoded (the reverse-proxy probes of
      // issue 4 also visit this origin, with fedcheck's own fixed paths)
      assert.ok(redis.requests.some((q) => q.method === 'GET' && /^\/%0d%0aSET%20pwned%201%0d%0a\/_matrix\/client\/versions$/i.test(q.target)), all);
      for (const q of redis.requests) {
        assert.ok(!/[\r\n]/.test(q.target), all);
        for (const [k, v] of q.headers) assert.ok(!/pwned/i.test(k + v), `injected header ${k}: ${v}`);
      }
    },
  },
];

describe('never wander', { concurrency: 4 }, () => {
  const labs = new Map<string, HostileLab>();
  before(async () => {
    for (const c of cases) labs.set(c.name, await startHostileLab(c.deploy, { timeoutMs: 3000 }));
  });
  after(async () => {
    await Promise.all([...labs.values()].map((l) => l.stop()));
  });
  for (const c of cases) {
    it(c.name, async () => {
      const lab = labs.get(c.name)!;
      const { report } = await running.run(c.name, () => gatherTimed(lab));
      // physical port → the logical endpoints mapped to it
      const logical = new Map<number, Set<string>>();
      for (const spec of lab.runOptions.connectTo) {
        const e = parseConnectTo(spec);
        const set = logical.get(e.cport) ?? new Set<string>();
        set.add(`${e.host}:${e.port}`);
        logical.set(e.cport, set);
      }
      const mine = connects.filter((x) => x.by === c.name);
      assert.ok(mine.length > 0, 'no connection was recorded');
      for (const x of mine) {
        const names = [...(logical.get(x.port) ?? [])];
        assert.ok(names.some((n) => c.allowed.includes(n)), `connected to ${x.host}:${x.port} (${names.join(', ') || 'not a lab endpoint'}), allowed: ${c.allowed.join(', ')}\n${show(report)}`);
      }
      for (const i of c.forbidden) assert.equal(lab.raw[i]!.connections, 0, `${c.deploy.raw![i]!.address}:${c.deploy.raw![i]!.port} was contacted\n${show(report)}`);
      assertNoWander(c.name);
      c.check?.(lab, report);
    });
  }
});
