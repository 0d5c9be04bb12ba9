/**
 * HAProxy 2.6 (Debian) in front of the stand-in backend: the seeds' frontend, `normalize-uri`
 * rules, `option forwardfor`, and the seeds' federation frontend that forwards everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectedInHint, differenceMessages, problemCodes, proxySuite, runScenario } from './scenario.js';

proxySuite('haproxy', (backends) => {
  test('recommended frontend: every check passes, nothing flagged', async () => {
    const r = await runScenario(backends, 'haproxy', 'recommended');
    assert.equal(r.evidence.mode, 'exact');
    assert.deepEqual(r.evidence.serverHeaders, []);
    for (const fs of [r.uri, r.forwarded, r.upload, r.admin]) assert.deepEqual(fs.map((f) => f.status), ['pass'], fs.map((f) => f.summary).join('\n'));
  });

  test('normalize-uri percent-decode-unreserved + percent-to-uppercase', async () => {
    const r = await runScenario(backends, 'haproxy', 'haproxy-normalize-decode', { upload: false });
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), [
      "%2E decoded to '.', creating a dot segment",
      '%2E decoded to .',
      'lowercase hex upper-cased (%2f → %2F)',
      'lowercase hex upper-cased (%c3 → %C3)',
    ]);
    // no Server header: recognised from the lower-case header names it sends
    assert.equal(detectedInHint(f), 'HAProxy');
    assert.match(f.hint!, /HAProxy \(detected\): remove the `http-request normalize-uri …` rules/);
  });

  test('normalize-uri path-merge-slashes + path-strip-dot + path-strip-dotdot', async () => {
    const r = await runScenario(backends, 'haproxy', 'haproxy-normalize-slashes-dots', { upload: false });
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), ['dot segments removed', 'doubled slashes merged']);
  });

  test('normalize-uri query-sort-by-name', async () => {
    const r = await runScenario(backends, 'haproxy', 'haproxy-normalize-query', { upload: false });
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), ['query re-ordered']);
    const changed = f.details!.changed as Array<{ id: string }>;
    assert.deepEqual(changed.map((c) => c.id).sort(), ['cl-messages', 'fed-backfill']);
  });

  test('option forwardfor: the client-supplied X-Forwarded-For comes first', async () => {
    const r = await runScenario(backends, 'haproxy', 'haproxy-forwardfor', { upload: false });
    assert.deepEqual(problemCodes(r.forwarded), ['xff-spoofable']);
    assert.match(r.forwarded[0]!.hint!, /HAProxy \(detected\): replace `option forwardfor`/);
    assert.deepEqual(r.uri.map((x) => x.status), ['pass']);
  });

  test("the docs' federation frontend forwards every path, admin APIs included", async () => {
    const r = await runScenario(backends, 'haproxy', 'haproxy-federation-frontend', { role: 'federation', upload: false });
    assert.deepEqual(r.uri.map((x) => x.status), ['pass']);
    const a = r.admin[0]!;
    assert.equal(a.status, 'warn');
    assert.match(a.summary, /forwards \/_synapse\/admin\/ \(Synapse\)/);
    assert.match(a.hint!, /HAProxy \(detected\): route only `path_beg \/_matrix`/);
  });
});
