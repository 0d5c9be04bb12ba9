/**
 * Apache 2.4 (Debian) in front of the stand-in backend: the seeds' recommended VirtualHost and the
 * classic mistakes (no nocanon, no AllowEncodedSlashes NoDecode, no ProxyPreserveHost).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectedInHint, differenceMessages, problemCodes, proxySuite, runScenario } from './scenario.js';

proxySuite('apache', (backends) => {
  test('recommended config: no canonicalisation; mod_proxy appends a client-supplied X-Forwarded-For (true warning)', async () => {
    const r = await runScenario(backends, 'apache', 'recommended');
    assert.equal(r.evidence.mode, 'exact');
    assert.deepEqual(r.uri.map((f) => f.status), ['pass'], r.uri[0]?.summary);
    assert.deepEqual(r.upload.map((f) => f.status), ['pass']);
    assert.deepEqual(r.admin.map((f) => f.status), ['pass']);
    // The docs' Apache config lets a client's X-Forwarded-For through in first place: a warning,
    // not a failure, and nothing else.
    assert.deepEqual(problemCodes(r.forwarded), ['xff-spoofable']);
    assert.equal(r.forwarded[0]!.status, 'warn');
    assert.equal(detectedInHint(r.forwarded[0]!), 'Apache');
    assert.match(r.forwarded[0]!.hint!, /RequestHeader unset X-Forwarded-For/);
  });

  test('recommended config plus the suggested fix (RequestHeader unset X-Forwarded-For): all pass', async () => {
    const r = await runScenario(backends, 'apache', 'apache-xff-fixed');
    for (const fs of [r.uri, r.forwarded, r.upload, r.admin]) assert.deepEqual(fs.map((f) => f.status), ['pass'], fs.map((f) => f.summary).join('\n'));
  });

  test('ProxyPass without nocanon: escapes decoded, dot segments and slashes normalised, %25 refused', async () => {
    const r = await runScenario(backends, 'apache', 'apache-no-nocanon');
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), [
      '%21 decoded to !',
      '%24 decoded to $',
      '%26 decoded to &',
      '%2B decoded to +',
      '%3A decoded to :',
      '%3D decoded to =',
      '%40 decoded to @',
      'dot segments removed',
      'doubled slashes merged',
      'lowercase hex upper-cased (%c3 → %C3)',
    ]);
    // AllowEncodedSlashes NoDecode still keeps %2F
    assert.ok(!differenceMessages(f).includes('%2F decoded to /'));
    const refused = f.details!.refused as Array<{ id: string; status: number }>;
    assert.deepEqual(refused.map((x) => `${x.id}:${x.status}`), ['fed-join-percent-user:400']);
    assert.equal(detectedInHint(f), 'Apache');
    assert.match(f.hint!, /Apache \(detected\): add `nocanon` to each ProxyPass/);
  });

  test('without AllowEncodedSlashes NoDecode: every ID with %2F is refused with 404', async () => {
    const r = await runScenario(backends, 'apache', 'apache-no-encoded-slashes');
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), []);
    const refused = f.details!.refused as Array<{ id: string; status: number }>;
    assert.deepEqual(refused.map((x) => `${x.id}:${x.status}`).sort(), ['cl-state-slash:404', 'fed-event-lowerhex:404', 'fed-event-v3:404', 'fed-invite:404', 'fed-join-slash-user:404']);
    assert.match(f.summary, /refuses requests with %2F/);
    assert.match(f.hint!, /Apache \(detected\): set `AllowEncodedSlashes NoDecode` in the VirtualHost/);
  });

  test('without ProxyPreserveHost: Host rewritten to the backend address', async () => {
    const r = await runScenario(backends, 'apache', 'apache-no-preserve-host');
    assert.deepEqual(r.uri.map((f) => f.status), ['pass']);
    assert.deepEqual(problemCodes(r.forwarded), ['host-rewritten', 'xff-spoofable']);
    const host = r.forwarded.find((f) => f.details?.code === 'host-rewritten')!;
    assert.equal(host.status, 'warn');
    assert.match(host.summary, /Host is rewritten: sent matrix\.example\.com, the homeserver received 127\.0\.0\.1:\d+/);
    assert.match(host.hint!, /Apache \(detected\): add `ProxyPreserveHost on`/);
  });

  test("the docs' federation VirtualHost (no ProxyPreserveHost) on a federation-only endpoint: Host is information only", async () => {
    const r = await runScenario(backends, 'apache', 'apache-federation-vhost', { role: 'federation', upload: false });
    assert.deepEqual(r.uri.map((f) => f.status), ['pass']);
    const host = r.forwarded.find((f) => f.details?.code === 'host-rewritten')!;
    assert.equal(host.status, 'info');
  });
});
