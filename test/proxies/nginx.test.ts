/**
 * nginx 1.22 (Debian) in front of the stand-in backend: the seeds' recommended configuration and
 * the classic mistakes, each with the exact diagnosis and nginx's fix first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectedInHint, differenceMessages, problemCodes, proxySuite, runScenario } from './scenario.js';

proxySuite('nginx', (backends) => {
  test('recommended config: every check passes, nothing flagged', async () => {
    const r = await runScenario(backends, 'nginx', 'recommended');
    assert.equal(r.evidence.mode, 'exact');
    assert.match(r.evidence.serverHeaders[0] ?? '', /^nginx/);
    assert.deepEqual(r.uri.map((f) => f.status), ['pass'], r.uri[0]?.summary);
    assert.deepEqual(r.forwarded.map((f) => f.status), ['pass'], r.forwarded.map((f) => f.summary).join('\n'));
    assert.deepEqual(r.upload.map((f) => f.status), ['pass']);
    assert.deepEqual(r.admin.map((f) => f.status), ['pass']);
    // the edge probes (NUL, invalid escapes, long path) are refused by nginx itself: recorded, not judged
    const edge = r.uri[0]!.details!.edge as Array<{ id: string; outcome: string }>;
    assert.match(edge.find((x) => x.id === 'fed-edge-nul')!.outcome, /refused \(HTTP 400/);
    assert.match(edge.find((x) => x.id === 'fed-edge-long')!.outcome, /refused \(HTTP 414/);
  });

  test('proxy_pass with a URI part: decoded %2F, decoded escapes, dot segments, slashes, hex case', async () => {
    const r = await runScenario(backends, 'nginx', 'nginx-uri-part');
    const f = r.uri[0]!;
    assert.equal(f.status, 'fail');
    assert.deepEqual(differenceMessages(f), [
      '%21 decoded to !',
      '%24 decoded to $',
      '%26 decoded to &',
      '%2B decoded to +',
      '%2F decoded to /',
      '%3A decoded to :',
      '%3D decoded to =',
      '%40 decoded to @',
      'dot segments removed',
      'doubled slashes merged',
      'lowercase hex upper-cased (%c3 → %C3)',
    ]);
    assert.match(f.summary, /%2F decoded to \//);
    assert.equal(detectedInHint(f), 'nginx');
    assert.match(f.hint!, /nginx \(detected\): give proxy_pass no URI part/);
    assert.match(f.hint!, /401 M_UNAUTHORIZED/);
    assert.deepEqual(r.forwarded.map((x) => x.status), ['pass']);
  });

  test('no proxy_set_header at all: XFF, XFP, Host, HTTP/1.0 and the 1 MiB default body limit', async () => {
    const r = await runScenario(backends, 'nginx', 'nginx-no-set-header');
    assert.deepEqual(r.uri.map((f) => f.status), ['pass']);
    assert.deepEqual(problemCodes(r.forwarded), ['host-rewritten', 'http-1.0', 'xff-missing', 'xff-spoofable', 'xfp-missing']);
    assert.ok(r.forwarded.every((f) => f.status === 'warn'));
    const byCode = (c: string) => r.forwarded.find((f) => f.details?.code === c)!;
    assert.match(byCode('xff-missing').hint!, /nginx \(detected\): add `proxy_set_header X-Forwarded-For \$remote_addr;`/);
    assert.match(byCode('http-1.0').hint!, /proxy_http_version 1\.1;/);
    assert.match(byCode('host-rewritten').summary, /received 127\.0\.0\.1:\d+/);
    const up = r.upload[0]!;
    assert.equal(up.status, 'warn');
    assert.match(up.summary, /above exactly 1 MiB \(nginx's default client_max_body_size\)/);
    assert.equal(up.details!.largestAccepted, 1024 * 1024);
    assert.equal(up.details!.smallestRefused, 1024 * 1024 + 1);
    assert.equal(up.details!.bodyBytesSent, 0);
    assert.match(up.hint!, /nginx \(detected\): set `client_max_body_size 50M;`/);
  });

  test('$proxy_add_x_forwarded_for: the client-supplied X-Forwarded-For comes first', async () => {
    const r = await runScenario(backends, 'nginx', 'nginx-append-xff');
    assert.deepEqual(problemCodes(r.forwarded), ['xff-spoofable']);
    const f = r.forwarded[0]!;
    assert.equal(f.status, 'warn');
    assert.match(f.summary, /received "192\.0\.2\.44, 127\.0\.0\.1"/);
    assert.match(f.hint!, /nginx \(detected\): use `proxy_set_header X-Forwarded-For \$remote_addr;`/);
    assert.deepEqual(r.uri.map((x) => x.status), ['pass']);
  });
});
