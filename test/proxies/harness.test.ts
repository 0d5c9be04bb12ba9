/** The real-proxy harness itself: a missing proxy is a failure under CI, a skip otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BINARIES, proxyAvailability } from './harness.js';

test('a missing proxy binary skips locally but must fail when CI is set', () => {
  const saved = BINARIES.haproxy;
  const savedCi = process.env.CI;
  try {
    BINARIES.haproxy = ['/nonexistent/fedcheck-test/haproxy'];
    delete process.env.CI;
    const local = proxyAvailability('haproxy');
    assert.equal(local.run, false);
    assert.equal(local.mustFail, false);
    assert.match(local.reason!, /haproxy is not installed .*\.ci\/proxies\.sh/);
    process.env.CI = 'true';
    assert.equal(proxyAvailability('haproxy').mustFail, true);
  } finally {
    BINARIES.haproxy = saved;
    if (savedCi === undefined) delete process.env.CI;
    else process.env.CI = savedCi;
  }
});
