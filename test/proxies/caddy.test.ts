/** Caddy 2.6 (Debian) in front of the stand-in backend: the seeds' Caddyfile and a path rewrite. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectedInHint, differenceMessages, proxySuite, runScenario } from './scenario.js';

proxySuite('caddy', (backends) => {
  test('recommended Caddyfile: every check passes, nothing flagged', async () => {
    const r = await runScenario(backends, 'caddy', 'recommended');
    assert.equal(r.evidence.mode, 'exact');
    assert.deepEqual(r.evidence.serverHeaders, ['Caddy']);
    for (const fs of [r.uri, r.forwarded, r.upload, r.admin]) assert.deepEqual(fs.map((f) => f.status), ['pass'], fs.map((f) => f.summary).join('\n'));
    // Caddy percent-encodes a raw '#' and raw UTF-8 (edge probes): recorded, not judged
    const edge = r.uri[0]!.details!.edge as Array<{ id: string; outcome: string }>;
    assert.match(edge.find((x) => x.id === 'fed-edge-raw-utf8')!.outcome, /raw UTF-8 percent-encoded/);
    assert.match(edge.find((x) => x.id === 'fed-edge-raw-hash')!.outcome, /# percent-encoded to %23/);
  });

  test('a `rewrite` in front of reverse_proxy: the target is rebuilt from the decoded path (cut at %3F)', async () => {
    const r = await runScenario(backends, 'caddy', 'caddy-rewrite');
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), ['%3A decoded to :', '%40 decoded to @', "path cut at %3F (decoded to '?')"]);
    assert.equal(detectedInHint(f), 'Caddy');
    assert.match(f.hint!, /Caddy \(detected\): use a bare `reverse_proxy/);
    assert.deepEqual(r.forwarded.map((x) => x.status), ['pass']);
  });
});
