/**
 * The pure probe set and request-target diff (core/proxy-probes.ts). The pairs below were recorded
 * from real proxies (test/proxies): what was sent, and what the stand-in backend received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildProbeSet, diffTarget, differenceImpact, lenientDecode, STRUCTURAL, type DifferenceCode } from '../../src/core/proxy-probes.js';

const codes = (a: string, b: string) => diffTarget(a, b).map((d) => d.code);
const messages = (a: string, b: string) => diffTarget(a, b).map((d) => d.message);

test('identical targets: no difference', () => {
  assert.deepEqual(diffTarget('/_matrix/federation/v1/event/%24a%2Fb', '/_matrix/federation/v1/event/%24a%2Fb'), []);
});

test('nginx proxy_pass with a URI part (recorded)', () => {
  assert.deepEqual(messages('/_matrix/federation/v1/event/%24abc%2Fdef%3Aexample.com', '/_matrix/federation/v1/event/$abc/def:example.com'), [
    '%24 decoded to $',
    '%2F decoded to /',
    '%3A decoded to :',
  ]);
  assert.deepEqual(codes('/_matrix/client/v3//rooms//x', '/_matrix/client/v3/rooms/x'), ['slashes-merged']);
  assert.deepEqual(messages('/_matrix/client/v3/rooms/%21r%3Aex/state/m.room.x/..', '/_matrix/client/v3/rooms/!r:ex/state/'), [
    '%21 decoded to !',
    '%3A decoded to :',
    'dot segments removed',
  ]);
  assert.deepEqual(messages('/_matrix/client/v3/profile/%40%c3%a9%3aexample.com', '/_matrix/client/v3/profile/@%C3%A9:example.com'), [
    '%40 decoded to @',
    '%3A decoded to :',
    'lowercase hex upper-cased (%c3 → %C3)',
  ]);
  // nginx cuts a raw '#' (an edge probe)
  assert.deepEqual(messages('/_matrix/client/v3/rooms/a#b', '/_matrix/client/v3/rooms/a'), ["path cut at a raw '#'"]);
});

test('Apache without nocanon keeps %2F (AllowEncodedSlashes NoDecode) but decodes the rest (recorded)', () => {
  assert.deepEqual(messages('/_matrix/federation/v1/event/%24abc%2Fdef%3Aexample.com', '/_matrix/federation/v1/event/$abc%2Fdef:example.com'), [
    '%24 decoded to $',
    '%3A decoded to :',
  ]);
});

test('Caddy rewrite: path cut at a decoded %3F, with or without the tail moved to the query (recorded)', () => {
  assert.deepEqual(codes('/_matrix/client/v3/directory/room/%23fc%3Fab%3Aexample.org', '/_matrix/client/v3/directory/room/%23fc'), ['path-cut-question']);
  assert.ok(codes('/_matrix/federation/v1/make_join/%21r%3Aex/%40fc%3Fuser%3Aex?ver=10', '/_matrix/federation/v1/make_join/%21r:ex/@fc?ver=10').includes('path-cut-question'));
  assert.ok(codes('/_matrix/federation/v1/event/%24a%3Fb', '/_matrix/federation/v1/event/$a?b').includes('path-cut-question'));
});

test('HAProxy normalize-uri rules (recorded)', () => {
  assert.deepEqual(codes('/_matrix/client/v3/rooms/%2e%2e/y', '/_matrix/client/v3/rooms/../y'), ['decoded', 'dot-segments-created']);
  assert.deepEqual(codes('/_matrix/federation/v1/event/%24fc1/..', '/_matrix/federation/v1/event/'), ['dot-segments-removed']);
  assert.deepEqual(codes('/_matrix/federation/v1/state/%21r%3Aex.com?event_id=%24e%3Aex.com&b=2&a=1', '/_matrix/federation/v1/state/%21r%3Aex.com?a=1&b=2&event_id=%24e%3Aex.com'), ['query-reordered']);
  assert.deepEqual(codes('/_matrix/x/%2fab', '/_matrix/x/%2Fab'), ['hex-uppercased']);
});

test('other changes: encoding, prefix rewrite, trailing slash, query', () => {
  assert.deepEqual(messages('/_matrix/client/v3/rooms/$x:y', '/_matrix/client/v3/rooms/%24x%3Ay'), ['$ percent-encoded to %24', ': percent-encoded to %3A']);
  assert.deepEqual(messages('/_matrix/client/v3/rooms/x', '/matrix/client/v3/rooms/x'), ['prefix rewritten: /_matrix/ → /matrix/']);
  assert.deepEqual(codes('/_matrix/client/v3/rooms/!r/state/m.room.name/', '/_matrix/client/v3/rooms/!r/state/m.room.name'), ['trailing-slash-removed']);
  assert.deepEqual(codes('/a?x=1', '/a'), ['query-dropped']);
  assert.deepEqual(codes('/a?x=1', '/a?x=2'), ['query-changed']);
  assert.deepEqual(codes('/a?x=%2B1', '/a?x=+1'), ['decoded-query-delimiter']);
  assert.deepEqual(codes('/_matrix/client/v3/profile/%40a%C3%A9', '/_matrix/client/v3/profile/@aé'), ['decoded', 'decoded-to-raw-bytes']);
  assert.deepEqual(codes('/_matrix/client/v3/rooms/x', '/_matrix/client/v3/rooms/y'), ['changed']);
});

test('every code has an impact sentence; structural codes are a subset', () => {
  const all: DifferenceCode[] = [
    'decoded-slash', 'path-cut-question', 'path-cut-hash', 'decoded-percent', 'decoded-query-delimiter', 'decoded',
    'decoded-to-raw-bytes', 'hex-uppercased', 'hex-lowercased', 'encoded', 'dot-segments-removed', 'dot-segments-created',
    'slashes-merged', 'trailing-slash-removed', 'trailing-slash-added', 'query-reordered', 'query-dropped', 'query-changed',
    'query-added', 'prefix-rewritten', 'changed',
  ];
  for (const c of all) assert.ok(differenceImpact(c).length > 20, c);
  for (const c of STRUCTURAL) assert.ok(all.includes(c));
});

test('probe set: roles, controls per route, unique ids and targets, sendable by an HTTP client', () => {
  const both = buildProbeSet('both', 'abc123');
  const fed = buildProbeSet('federation', 'abc123');
  const cl = buildProbeSet('client', 'abc123');
  assert.ok(fed.every((p) => p.api === 'federation'));
  assert.ok(cl.every((p) => p.api === 'client'));
  assert.equal(new Set(both.map((p) => p.id)).size, both.length);
  assert.equal(new Set(both.map((p) => p.target)).size, both.length);
  for (const set of [both, fed, cl]) {
    const routes = new Set(set.filter((p) => p.kind === 'core').map((p) => p.route));
    for (const r of routes) assert.ok(set.some((p) => p.kind === 'control' && p.route === r), `control for ${r}`);
  }
  for (const p of both) {
    assert.ok(p.target.startsWith('/_matrix/'), p.id);
    assert.ok(p.why.length > 10 && p.feature.length > 3, p.id);
    if (p.kind === 'edge') {
      assert.equal(p.raw, true, p.id);
      assert.ok(p.tolerated, p.id);
    } else {
      // undici sends the target verbatim only if it is printable ASCII without spaces
      assert.match(p.target, /^[\x21-\x7e]+$/, p.id);
      assert.ok(!p.target.includes('#'), p.id);
    }
  }
  // what the issue lists: $ / : ! # @ + ? % = encoded, non-ASCII, lowercase hex, dot segments, //, query strings
  const core = both.filter((p) => p.kind === 'core').map((p) => p.target).join(' ');
  for (const needle of ['%24', '%2F', '%3A', '%21', '%23', '%40', '%2B', '%3F', '%25', '%3D', '%C3%A9', '%2f', '/..', '/.', '//', '?']) assert.ok(core.includes(needle), needle);
  // the nonce makes targets unique to a run
  assert.ok(buildProbeSet('both', 'zzz999').some((p) => p.target.includes('zzz999')));
});

test('property: a target always equals itself; decoding a %2F is always named', () => {
  const seg = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
  fc.assert(
    fc.property(fc.array(seg, { minLength: 1, maxLength: 5 }), seg, seg, (segs, a, b) => {
      const path = '/_matrix/' + segs.join('/');
      assert.deepEqual(diffTarget(path, path), []);
      const sent = `${path}/${a}%2F${b}`;
      const recv = `${path}/${a}/${b}`;
      assert.ok(diffTarget(sent, recv).some((d) => d.code === 'decoded-slash'));
    }),
    { numRuns: 200 },
  );
});

test('property: diffTarget never throws and reports something for any different pair', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
      const d = diffTarget('/' + a, '/' + b);
      assert.equal(d.length === 0, a === b);
    }),
    { numRuns: 500 },
  );
});

test('lenientDecode keeps invalid escapes', () => {
  assert.equal(lenientDecode('%24a%zz%'), '$a%zz%');
  assert.equal(lenientDecode('%C3%A9'), 'é');
  assert.equal(lenientDecode('%C3'), '\u00c3');
});
