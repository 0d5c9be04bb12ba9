/**
 * The proxy gatherer's planning over a resolution and a client base URL: the same address, port
 * and Host is probed once (role `both`); another Host is its own client endpoint; the client base
 * URL comes from /.well-known/matrix/client when not given. Real nginx (recommended config).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherProxy, planEndpoints } from '../../src/probes/proxy.js';
import { ConnectMap, parseConnectTo, parseResolve } from '../../src/net/connect-map.js';
import { configFor } from './configs.js';
import { freePort, removeDir, startProxy, tempDir, writeTls } from './harness.js';
import { netContext, proxySuite, PUBLIC_NAME } from './scenario.js';

proxySuite('nginx', (backends) => {
  test('gatherProxy: federation target + identical client base URL → one endpoint, role both', async () => {
    const backend = await backends.get(false);
    const dir = tempDir('nginx-gather');
    const port = await freePort();
    const tls = writeTls(dir, [PUBLIC_NAME]);
    const proxy = await startProxy('nginx', dir, configFor('nginx', { dir, port, backendPort: backend.port, tls, serverName: PUBLIC_NAME }, 'recommended'), port);
    try {
      const ctx = netContext(tls.ca.certPem);
      (ctx as { connectMap: ConnectMap }).connectMap = new ConnectMap(
        [parseResolve(`${PUBLIC_NAME}:${port}:127.0.0.1`)],
        [parseConnectTo(`example.com:443:127.0.0.1:${port}`)],
      );
      const resolution = { hostHeader: PUBLIC_NAME, tlsServerName: PUBLIC_NAME, targets: [{ host: PUBLIC_NAME, port, addresses: ['127.0.0.1'] }] };
      const same = await planEndpoints(ctx, resolution, `https://${PUBLIC_NAME}:${port}`);
      // Host `matrix.example.com` vs `matrix.example.com:<port>`: different Host headers → two endpoints
      assert.deepEqual(same.planned.map((p) => p.role).sort(), ['client', 'federation']);
      const withPortHost = { ...resolution, hostHeader: `${PUBLIC_NAME}:${port}` };
      const merged = await planEndpoints(ctx, withPortHost, `https://${PUBLIC_NAME}:${port}`);
      assert.deepEqual(merged.planned.map((p) => p.role), ['both']);
      assert.equal(merged.planned[0]!.baseUrl, `https://${PUBLIC_NAME}:${port}`);

      const pe = await gatherProxy(ctx, withPortHost, 'example.com', `https://${PUBLIC_NAME}:${port}`);
      assert.equal(pe.endpoints.length, 1);
      assert.equal(pe.endpoints[0]!.mode, 'exact');
      assert.equal(pe.endpoints[0]!.role, 'both');
      assert.equal(pe.endpoints[0]!.target, `127.0.0.1:${port}`);

      // no base URL given: /.well-known/matrix/client is asked (nginx's recommended config does not serve it)
      const noClient = await gatherProxy(ctx, resolution, 'example.com');
      assert.equal(noClient.endpoints.length, 1);
      assert.equal(noClient.endpoints[0]!.role, 'federation');
      assert.match(noClient.notes.join('\n'), /client base URL unknown: .*answered HTTP 404/);

      const unresolved = await gatherProxy(ctx, null, 'example.com', null);
      assert.deepEqual(unresolved.endpoints, []);
      assert.match(unresolved.notes.join('\n'), /could not be resolved/);
    } finally {
      await proxy.stop();
      removeDir(dir);
    }
  });
});
