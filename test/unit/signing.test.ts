/**
 * Canonical JSON + ed25519 JSON signing: spec appendix vectors and edge cases. No network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  CanonicalJsonError,
  compareCodePoints,
  jsonNestingDepth,
  parseJsonSafely,
} from '../../src/core/canonical-json.js';
import {
  Base64Error,
  decodeBase64,
  encodeBase64,
  generateSigningKey,
  publicKeyForSeed,
  signJson,
  tryDecodeBase64,
  verifyJsonSignature,
} from '../../src/core/signing.js';

const SEED = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
const SIG_EMPTY = 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ';
const SIG_ONE_TWO = 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw';

test('canonical JSON: spec appendix examples', () => {
  assert.equal(canonicalJson({}), '{}');
  assert.equal(canonicalJson({ one: 1, two: 'Two' }), '{"one":1,"two":"Two"}');
  assert.equal(canonicalJson({ b: '2', a: '1' }), '{"a":"1","b":"2"}');
  assert.equal(
    canonicalJson({
      auth: {
        success: true,
        mxid: '@john.doe:example.com',
        profile: {
          display_name: 'John Doe',
          three_pids: [
            { medium: 'email', address: 'john.doe@example.org' },
            { medium: 'msisdn', address: '123456789' },
          ],
        },
      },
    }),
    '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":' +
      '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
  );
  assert.equal(canonicalJson({ a: '日本語' }), '{"a":"日本語"}');
  assert.equal(canonicalJson({ 本: 2, 日: 1 }), '{"日":1,"本":2}');
  assert.equal(canonicalJson(JSON.parse('{"a": "\\u65E5"}')), '{"a":"日"}');
  assert.equal(canonicalJson({ a: null }), '{"a":null}');
  assert.equal(canonicalJson(JSON.parse('{"a": -0, "b": 1e10}')), '{"a":0,"b":10000000000}');
});

test('canonical JSON: escapes are minimal, control chars lower-case \\u00xx', () => {
  assert.equal(canonicalJson('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(canonicalJson('\b\t\n\f\r'), '"\\b\\t\\n\\f\\r"');
  assert.equal(canonicalJson('\u0000\u001f\u000b'), '"\\u0000\\u001f\\u000b"');
  // not escaped: slash, DEL, U+2028/2029, non-ASCII, astral
  assert.equal(canonicalJson('/\u007f\u2028\u2029é😀'), '"/\u007f\u2028\u2029é😀"');
  // the UTF-8 bytes are raw, not \u escapes
  assert.deepEqual([...Buffer.from(canonicalJson('é'), 'utf8')], [0x22, 0xc3, 0xa9, 0x22]);
});

test('canonical JSON: keys sorted by code point, not UTF-16 unit', () => {
  // U+FF5E (fullwidth tilde) < U+1F600 (emoji) by code point, but its UTF-16 unit 0xFF5E > 0xD83D
  const obj = { '😀': 1, '～': 2, a: 3, B: 4, '': 5 };
  assert.equal(canonicalJson(obj), '{"":5,"B":4,"a":3,"～":2,"😀":1}');
  assert.ok(compareCodePoints('\uff5e', '😀') < 0);
  assert.ok(compareCodePoints('ab', 'a') > 0);
  assert.equal(compareCodePoints('x', 'x'), 0);
});

test('canonical JSON: integers range, floats and non-JSON values rejected', () => {
  assert.equal(canonicalJson(2 ** 53 - 1), '9007199254740991');
  assert.equal(canonicalJson(-(2 ** 53 - 1)), '-9007199254740991');
  assert.equal(canonicalJson(-0), '0');
  assert.equal(canonicalJson([1e10, -5]), '[10000000000,-5]');
  assert.equal(canonicalJson([true, false, null, []]), '[true,false,null,[]]');
  for (const bad of [1.5, 2 ** 53, -(2 ** 53), NaN, Infinity, -Infinity, 1e21, 0.1]) {
    assert.throws(() => canonicalJson({ x: bad }), CanonicalJsonError, `should reject ${bad}`);
  }
  assert.throws(() => canonicalJson(undefined), CanonicalJsonError);
  assert.throws(() => canonicalJson([undefined]), CanonicalJsonError);
  assert.throws(() => canonicalJson({ f: () => 1 }), CanonicalJsonError);
  assert.throws(() => canonicalJson({ s: Symbol('x') }), CanonicalJsonError);
  assert.throws(() => canonicalJson({ b: 1n }), CanonicalJsonError);
  assert.throws(() => canonicalJson({ d: new Date(0) }), CanonicalJsonError);
  assert.throws(() => canonicalJson({ b: Buffer.from('x') }), CanonicalJsonError);
  assert.throws(() => canonicalJson('\ud800'), CanonicalJsonError);
  assert.throws(() => canonicalJson({ ['\udc00']: 1 }), CanonicalJsonError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), /cyclic/);
  // undefined-valued properties are skipped like JSON.stringify does
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  // the error names the path
  try {
    canonicalJson({ k: { 'a/b': [0, 1.25] } });
    assert.fail('expected throw');
  } catch (err) {
    assert.ok(err instanceof CanonicalJsonError);
    assert.equal(err.path, '/k/a~1b/1');
  }
  // shared (non-cyclic) references are fine
  const shared = { z: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"z":1},"b":{"z":1}}');
  // null-prototype objects are plain
  const np = Object.create(null) as Record<string, unknown>;
  np.q = 'r';
  assert.equal(canonicalJson(np), '{"q":"r"}');
});

test('parseJsonSafely: ok, syntax errors, deep nesting without stack overflow', () => {
  assert.deepEqual(parseJsonSafely('{"a":[1,{"b":"]]]["}]}'), { ok: true, value: { a: [1, { b: ']]][' }] } });
  const bad = parseJsonSafely('{"a":');
  assert.equal(bad.ok, false);
  assert.equal(parseJsonSafely('').ok, false);
  assert.equal(parseJsonSafely('\ufeff{}').ok, false);

  const deep = '['.repeat(100_000);
  const r = parseJsonSafely(deep);
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /nesting deeper than 512/);
  const deepClosed = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal(parseJsonSafely(deepClosed).ok, false);
  const deepObj = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
  assert.equal(parseJsonSafely(deepObj).ok, false);

  // exactly at the limit is accepted, one more is not
  assert.equal(parseJsonSafely('['.repeat(512) + ']'.repeat(512)).ok, true);
  assert.equal(parseJsonSafely('['.repeat(513) + ']'.repeat(513)).ok, false);
  assert.equal(parseJsonSafely('[[[1]]]', 2).ok, false);
  assert.equal(parseJsonSafely('[[1]]', 2).ok, true);
  // brackets and escaped quotes inside strings do not count
  assert.equal(jsonNestingDepth('["[[[[\\"[[[[", {"x":"{{{{"}]'), 2);
  assert.equal(parseJsonSafely('["[[[[\\"[[["]', 1).ok, true);
  // non-string input never throws
  assert.equal(parseJsonSafely(undefined as unknown as string).ok, false);
});

test('base64: unpadded encode, padded/unpadded decode, invalid input rejected', () => {
  assert.equal(encodeBase64(Buffer.from('')), '');
  assert.equal(encodeBase64(Buffer.from('f')), 'Zg');
  assert.equal(encodeBase64(Buffer.from('fo')), 'Zm8');
  assert.equal(encodeBase64(Buffer.from('foo')), 'Zm9v');
  assert.equal(encodeBase64(new Uint8Array([0xfb, 0xff])), '+/8');
  assert.equal(decodeBase64('Zg').toString(), 'f');
  assert.equal(decodeBase64('Zg==').toString(), 'f');
  assert.equal(decodeBase64('Zm8=').toString(), 'fo');
  assert.equal(decodeBase64('Zm9v').toString(), 'foo');
  assert.deepEqual([...decodeBase64('+/8')], [0xfb, 0xff]);
  for (const bad of ['Z', 'Zm9vY', 'Zg=', 'Zg===', 'Z=g=', '-_8', 'Zm 9v', 'Zm9v\n', '!!!!', '=']) {
    assert.throws(() => decodeBase64(bad), Base64Error, `should reject ${JSON.stringify(bad)}`);
  }
  assert.equal(tryDecodeBase64('@@'), null);
  assert.equal(tryDecodeBase64(42), null);
  // the spec seed has non-zero trailing bits and must still decode to 32 bytes
  assert.equal(decodeBase64(SEED).length, 32);
});

test('signing: spec appendix test vectors', () => {
  const signedEmpty = signJson({}, 'domain', 'ed25519:1', SEED);
  assert.deepEqual(signedEmpty, { signatures: { domain: { 'ed25519:1': SIG_EMPTY } } });

  const signed = signJson({ one: 1, two: 'Two' }, 'domain', 'ed25519:1', SEED);
  assert.deepEqual(signed, { one: 1, two: 'Two', signatures: { domain: { 'ed25519:1': SIG_ONE_TWO } } });

  const pub = publicKeyForSeed(SEED);
  assert.equal(decodeBase64(pub).length, 32);
  assert.deepEqual(verifyJsonSignature(signedEmpty, 'domain', 'ed25519:1', pub), { ok: true });
  assert.deepEqual(verifyJsonSignature(signed, 'domain', 'ed25519:1', pub), { ok: true });
  // verification is over canonical JSON, so key order / re-serialisation does not matter
  const reparsed = JSON.parse('{"two":"Two","signatures":{"domain":{"ed25519:1":"' + SIG_ONE_TWO + '"}},"one":1}');
  assert.equal(verifyJsonSignature(reparsed, 'domain', 'ed25519:1', pub).ok, true);
  // padded signature is accepted too
  const padded = { ...signed, signatures: { domain: { 'ed25519:1': SIG_ONE_TWO + '==' } } };
  assert.equal(verifyJsonSignature(padded, 'domain', 'ed25519:1', pub).ok, true);
});

test('signing: keeps other signatures and unsigned, strips them from what is signed', () => {
  const key = generateSigningKey('abc_1');
  assert.equal(key.keyId, 'ed25519:abc_1');
  assert.equal(decodeBase64(key.seed).length, 32);
  assert.equal(decodeBase64(key.publicKey).length, 32);
  assert.equal(publicKeyForSeed(key.seed), key.publicKey);
  assert.match(generateSigningKey().keyId, /^ed25519:[a-zA-Z0-9_]+$/);
  assert.throws(() => generateSigningKey('bad-version'));

  const input = {
    content: 'x',
    unsigned: { age: 5 },
    signatures: { other: { 'ed25519:o': 'AAAA' }, me: { 'ed25519:old': 'BBBB' } },
  };
  const out = signJson(input, 'me', key.keyId, key.seed);
  assert.deepEqual(out.unsigned, { age: 5 });
  assert.equal(out.signatures.other!['ed25519:o'], 'AAAA');
  assert.equal(out.signatures.me!['ed25519:old'], 'BBBB');
  assert.equal(typeof out.signatures.me![key.keyId], 'string');
  // input not mutated
  assert.deepEqual(input.signatures.me, { 'ed25519:old': 'BBBB' });
  assert.equal(verifyJsonSignature(out, 'me', key.keyId, key.publicKey).ok, true);
  // changing `unsigned` does not invalidate; changing content does
  assert.equal(verifyJsonSignature({ ...out, unsigned: { age: 99 } }, 'me', key.keyId, key.publicKey).ok, true);
  const tampered = verifyJsonSignature({ ...out, content: 'y' }, 'me', key.keyId, key.publicKey);
  assert.deepEqual(tampered, { ok: false, reason: 'signature does not verify' });
  // same signature as signing without the extra fields
  const bare = signJson({ content: 'x' }, 'me', key.keyId, key.seed);
  assert.equal(bare.signatures.me![key.keyId], out.signatures.me![key.keyId]);
});

test('verifyJsonSignature never throws and explains failures', () => {
  const key = generateSigningKey('k');
  const other = generateSigningKey('k');
  const signed = signJson({ a: 1 }, 'srv', key.keyId, key.seed);
  const sig = signed.signatures.srv![key.keyId]!;
  const cases: Array<[unknown, string, string, string, RegExp]> = [
    [null, 'srv', key.keyId, key.publicKey, /not a JSON object/],
    [[1], 'srv', key.keyId, key.publicKey, /not a JSON object/],
    [{ a: 1 }, 'srv', key.keyId, key.publicKey, /no signatures object/],
    [signed, 'nope', key.keyId, key.publicKey, /no signatures from nope/],
    [signed, 'srv', 'ed25519:zz', key.publicKey, /no signature by ed25519:zz/],
    [{ a: 1, signatures: { srv: { [key.keyId]: 7 } } }, 'srv', key.keyId, key.publicKey, /not a string/],
    [{ a: 1, signatures: { srv: { [key.keyId]: '***' } } }, 'srv', key.keyId, key.publicKey, /signature is not valid base64/],
    [{ a: 1, signatures: { srv: { [key.keyId]: 'AAAA' } } }, 'srv', key.keyId, key.publicKey, /3 bytes, expected 64/],
    [signed, 'srv', key.keyId, 'not base64!', /public key is not valid base64/],
    [signed, 'srv', key.keyId, encodeBase64(Buffer.alloc(31)), /31 bytes, expected 32/],
    [signed, 'srv', key.keyId, other.publicKey, /does not verify/],
    [{ a: 1.5, signatures: { srv: { [key.keyId]: sig } } }, 'srv', key.keyId, key.publicKey, /canonical JSON/],
    [{ a: 1, signatures: { srv: { 'curve:x': sig } } }, 'srv', 'curve:x', key.publicKey, /unsupported key algorithm/],
  ];
  for (const [obj, server, kid, pub, re] of cases) {
    const r = verifyJsonSignature(obj, server, kid, pub);
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', re);
  }
  // non-string public key input does not throw either
  assert.equal(verifyJsonSignature(signed, 'srv', key.keyId, undefined as unknown as string).ok, false);
});

test('signJson rejects bad seeds and non-encodable objects', () => {
  assert.throws(() => signJson({}, 'd', 'ed25519:1', 'AAAA'), /32 bytes/);
  assert.throws(() => signJson({}, 'd', 'ed25519:1', '$$$'), Base64Error);
  assert.throws(() => signJson({ x: 0.5 }, 'd', 'ed25519:1', SEED), CanonicalJsonError);
});
