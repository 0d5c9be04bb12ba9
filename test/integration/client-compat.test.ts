/**
 * What the scenario expectations cannot say: on a clean setup the client checks and the
 * compatibility check stay quiet — no warning, no failure, and for compatibility nothing but the
 * single "agree" pass (and the lab's loopback note).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findScenario } from '../../src/lab/scenarios/index.js';
import { runScenario } from '../helpers/lab.js';

const MINE = new Set(['client-well-known', 'client-versions', 'cors', 'support-well-known', 'compatibility']);

describe('clean setups stay quiet', { concurrency: 3 }, () => {
  for (const name of ['healthy', 'client-valid', 'compat-clean']) {
    it(name, async () => {
      const s = findScenario(name);
      assert.ok(s, name);
      const { report } = await runScenario(s);
      const mine = report.checks.filter((c) => MINE.has(c.id));
      const loud = mine.filter((c) => c.status === 'warn' || c.status === 'fail');
      assert.deepEqual(loud, [], JSON.stringify(mine, null, 2));
      const compat = mine.filter((c) => c.id === 'compatibility');
      assert.equal(compat.filter((c) => c.status === 'pass').length, 1);
      assert.ok(compat.every((c) => c.status === 'pass' || (c.status === 'info' && c.summary.includes('fine for a lab'))), JSON.stringify(compat));
      if (name !== 'compat-clean') {
        for (const id of ['client-well-known', 'client-versions', 'cors']) {
          assert.ok(mine.some((c) => c.id === id && c.status === 'pass'), `${id} passes`);
        }
      }
    });
  }
});

describe('ConnectionPool', () => {
  it('pipelines requests to one origin on one connection, and moves to the next address when one refuses', async () => {
    const { startHost } = await import('../../src/lab/http-host.js');
    const { certFor, labCas } = await import('../../src/lab/deployment.js');
    const { makeNetContext, prepare } = await import('../../src/run/gather.js');
    const { ConnectionPool } = await import('../../src/probes/follow.js');
    const seen: string[] = [];
    const good = await startHost({
      address: '127.0.0.3',
      tls: certFor({ names: ['pool.test'] }),
      handler: (req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.host}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      },
    });
    const dead = await startHost({ address: '127.0.0.2', fault: 'refuse' });
    try {
      const opts = {
        resolvers: ['127.0.0.1:9'], resolve: ['pool.test:443:127.0.0.2,127.0.0.3'],
        connectTo: [`127.0.0.2:443:127.0.0.2:${dead.port}`, `127.0.0.3:443:127.0.0.3:${good.port}`],
        cacert: [], extraCaPems: [labCas().root.certPem], family: 0 as const, timeoutMs: 5000, backend: null,
      };
      const ctx = makeNetContext(opts, prepare(opts), Date.now() + 5000, 'pool.test');
      const pool = new ConnectionPool(ctx);
      try {
        const urls = ['/a', '/b', '/c'].map((p) => new URL(`https://pool.test${p}`));
        const [a, b, c] = await Promise.all([pool.request(urls[0]!), pool.request(urls[1]!, { method: 'OPTIONS' }), pool.request(urls[2]!)]);
        for (const x of [a, b, c]) {
          assert.equal(x!.error, null, JSON.stringify(x!.error));
          assert.equal(x!.response?.status, 200);
          assert.equal(x!.connectAddress, '127.0.0.3');
          assert.equal(x!.tls?.servername, 'pool.test');
        }
        assert.equal(good.connections, 1, 'one connection for the three requests');
        assert.deepEqual(seen.sort(), ['GET /a pool.test', 'GET /c pool.test', 'OPTIONS /b pool.test']);
      } finally {
        await pool.close();
      }
    } finally {
      await good.stop();
      await dead.stop();
    }
  });
});
