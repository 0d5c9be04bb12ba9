/**
 * Live mode: no stand-in, a backend that routes the way the spec says homeservers do (unknown
 * endpoint → 404 M_UNRECOGNIZED, known endpoint without auth → 401). Through a transparent proxy:
 * no false alarm, and plain words about what could not be determined. Through a proxy that decodes
 * %2F (nginx with a URI part) or refuses it (Apache without AllowEncodedSlashes): detected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBinary } from './harness.js';
import { detectedInHint, proxySuite, runScenario } from './scenario.js';

proxySuite('nginx', (backends) => {
  test('live mode through a transparent proxy (nginx, recommended): no false alarm, limits stated', async () => {
    const r = await runScenario(backends, 'nginx', 'recommended', { live: true });
    assert.equal(r.evidence.mode, 'live');
    const f = r.uri[0]!;
    assert.equal(f.status, 'pass', f.summary);
    assert.match(f.summary, /live mode/);
    assert.match(f.summary, /an encoded '\/' in an ID is routed like a plain ID/);
    assert.match(f.summary, /[Nn]ot determined from outside/);
    assert.match(f.summary, /fedcheck backend --listen/);
    assert.deepEqual(r.forwarded.map((x) => x.status), ['skip']);
    assert.match(r.forwarded[0]!.summary, /cannot be seen from outside/);
    assert.deepEqual(r.upload.map((x) => x.status), ['pass']);
    assert.deepEqual(r.admin.map((x) => x.status), ['pass']);
  });

  test('live mode through a proxy that decodes %2F (nginx proxy_pass with a URI part): detected', async () => {
    const r = await runScenario(backends, 'nginx', 'nginx-uri-part', { live: true, upload: false });
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /an encoded '\/' \(%2F\) in an ID changes how the request is routed/);
    const obs = f.details!.observations as Array<{ id: string; control: string; test: string }>;
    const fed = obs.find((o) => o.id === 'live-fed-event-slash')!;
    assert.equal(fed.control, '401 M_UNAUTHORIZED');
    assert.equal(fed.test, '404 M_UNRECOGNIZED');
    assert.equal(detectedInHint(f), 'nginx');
  });
});

if (findBinary('apache')) {
  proxySuite('apache', (backends) => {
    test('live mode through Apache without AllowEncodedSlashes: %2F refused before the homeserver', async () => {
      const r = await runScenario(backends, 'apache', 'apache-no-encoded-slashes', { live: true, upload: false });
      const f = r.uri[0]!;
      assert.equal(f.status, 'fail');
      assert.match(f.summary, /refuses requests with an encoded '\/'/);
      assert.match(f.hint!, /Apache \(detected\): set `AllowEncodedSlashes NoDecode`/);
    });
  });
}
