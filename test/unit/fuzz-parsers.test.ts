import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseServerName, parseDelegatedServerName, formatHostPort, type HostKind } from '../../src/core/server-name.js';
import { parseServerWellKnown, cacheLifetime, jsonNestingDepth, MAX_JSON_DEPTH } from '../../src/core/well-known.js';
import { sanitize, quote } from '../../src/core/sanitize.js';
import { orderSrv, isServiceUnavailable } from '../../src/core/srv.js';
import type { SrvRecord } from '../../src/core/types.js';

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\u061c\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** any UTF-16 string, lone surrogates included */
const anyString = fc.string({ unit: 'binary', maxLength: 80 });
/** strings over the characters that matter to the grammar, to reach the deep branches */
const grammarChar = fc.constantFrom(
  ...'abcXYZ019.-:[]_%/@ \n\r\t\x1b\u202eü:.:::0'.split(''),
  '[::1]',
  ':8448',
  'xn--',
  'https://',
  '1.2.3.4',
  '256',
);
const grammarish = fc.array(grammarChar, { maxLength: 16 }).map((a) => a.join(''));
const ctrlHeavy = fc.string({
  unit: fc.constantFrom('\x1b', '[', ']', '\x07', '\\', '\x9b', '\x9c', '\x9d', 'P', ';', '0', 'm', 'a', '\n', '\u202e', '\ud800', '😀', '\u2028'),
  maxLength: 60,
});

const headerValue = fc.oneof(anyString, fc.array(anyString, { maxLength: 3 }), fc.constantFrom(
  'max-age=3600', 'no-store', 'MAX-AGE = 1_0', 'max-age="5"', 'max-age=-1', 'Thu, 01 Jan 2026 02:00:00 GMT', '', ' ', 'Sun Nov  6 08:49:37 1994', 'Sunday, 06-Nov-94 08:49:37 GMT',
));
const headers = fc.dictionary(
  fc.oneof(fc.constantFrom('content-type', 'cache-control', 'expires', 'Cache-Control', 'EXPIRES'), anyString),
  headerValue,
  { maxKeys: 5 },
);

describe('fuzz: nothing throws', () => {
  test('parseServerName on arbitrary and grammar-shaped strings', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, grammarish, fc.string({ unit: 'grapheme', maxLength: 40 })), (s) => {
        const r = parseServerName(s);
        if ('error' in r) {
          assert.equal(typeof r.error, 'string');
          assert.doesNotMatch(r.error, UNSAFE, 'error messages are printable');
        } else {
          // accepted names are ASCII, printable and stable under re-parsing
          assert.match(r.serverName, /^[\x21-\x7e]+$/);
          const again = parseServerName(r.serverName);
          if ('error' in again) assert.fail(`re-parse of ${r.serverName} failed: ${again.error}`);
          assert.equal(again.host, r.host);
          assert.equal(again.hostKind, r.hostKind);
          assert.equal(again.port, r.port);
          for (const w of r.warnings) assert.doesNotMatch(w, UNSAFE);
        }
      }),
      { numRuns: 400 },
    );
  });
  test('parseDelegatedServerName on any JSON value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), anyString, grammarish), (v) => {
        const r = parseDelegatedServerName(v);
        if (r.valid) assert.equal(typeof v, 'string');
        else {
          assert.doesNotMatch(r.reason, UNSAFE);
          assert.deepEqual(r.raw, v);
        }
      }),
      { numRuns: 300 },
    );
  });
  test('parseServerWellKnown on arbitrary responses', () => {
    const body = fc.oneof(
      anyString,
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({ 'm.server': v })),
      grammarish.map((s) => JSON.stringify({ 'm.server': s })),
      fc.tuple(fc.nat(1200), fc.constantFrom('[', '{"a":', '["x",')).map(([n, open]) => open.repeat(n)),
      anyString.map((s) => '\ufeff' + s),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(200), fc.integer({ min: -1, max: 700 })),
        headers,
        body,
        fc.boolean(),
        (status, h, b, truncated) => {
          const v = parseServerWellKnown({ status, headers: h, body: b, truncated });
          assert.equal(typeof v.valid, 'boolean');
          if (v.valid) {
            assert.equal(status, 200);
            assert.equal(truncated, false);
            assert.equal(v.raw, (JSON.parse(b) as Record<string, unknown>)['m.server']);
          } else {
            assert.doesNotMatch(v.reason, UNSAFE);
            assert.equal(typeof v.permanent, 'boolean');
          }
          if (v.contentTypeWarning !== undefined) assert.doesNotMatch(v.contentTypeWarning, UNSAFE);
        },
      ),
      { numRuns: 300 },
    );
  });
  test('well-known verdict agrees with parseDelegatedServerName for a 200 JSON object', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), grammarish, fc.domain()), (value) => {
        const v = parseServerWellKnown({ status: 200, headers: {}, body: JSON.stringify({ 'm.server': value }), truncated: false });
        assert.equal(v.valid, parseDelegatedServerName(value).valid);
      }),
      { numRuns: 400 },
    );
  });
  test('nesting: rejected exactly when deeper than 512, never a stack overflow', () => {
    fc.assert(
      fc.property(fc.nat(3000), fc.constantFrom('[', '{"k":'), fc.boolean(), (depth, open, close) => {
        const body = open.repeat(depth) + (close ? '0' + (open === '[' ? ']' : '}').repeat(depth) : '');
        const v = parseServerWellKnown({ status: 200, headers: {}, body, truncated: false });
        assert.equal(jsonNestingDepth(body), depth);
        if (!v.valid && depth > MAX_JSON_DEPTH) assert.ok(v.problem === 'too-deep' || v.problem === 'too-large');
        if (depth <= MAX_JSON_DEPTH && depth > 0) assert.notEqual(!v.valid && v.problem, 'too-deep');
      }),
      { numRuns: 200 },
    );
  });
  test('cacheLifetime on arbitrary headers and clocks', () => {
    fc.assert(
      fc.property(headers, fc.boolean(), fc.oneof(fc.integer(), fc.double(), fc.date({ noInvalidDate: false })), (h, valid, now) => {
        const c = cacheLifetime(h, { valid, now });
        assert.equal(typeof c.seconds, 'number');
        assert.ok(!Number.isNaN(c.seconds));
        if (valid) assert.ok(c.seconds >= 300 && c.seconds <= 172800, String(c.seconds));
        else assert.equal(c.seconds, 3600);
        assert.doesNotMatch(c.explanation, UNSAFE);
        for (const n of c.notes) assert.doesNotMatch(n, UNSAFE);
      }),
      { numRuns: 400 },
    );
  });
  test('orderSrv returns a permutation for arbitrary records', () => {
    const record = fc.record({
      name: fc.oneof(fc.constant('.'), fc.domain()),
      priority: fc.integer({ min: 0, max: 65535 }),
      weight: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 })),
      port: fc.integer({ min: 0, max: 65535 }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), fc.integer(), (recs: SrvRecord[], seed) => {
        let x = seed;
        const rng = () => {
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          return ((x >>> 0) % 1000003) / 1000003;
        };
        const out = orderSrv(recs, rng);
        assert.equal(out.length, recs.length);
        assert.deepEqual([...out].sort(cmp), [...recs].sort(cmp));
        for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]!.priority <= out[i]!.priority);
        assert.equal(isServiceUnavailable(recs), recs.length === 1 && recs[0]!.name === '.');
      }),
      { numRuns: 300 },
    );
  });
});

function cmp(a: SrvRecord, b: SrvRecord): number {
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}

describe('fuzz: sanitize', () => {
  test('output never contains a control, bidi or lone-surrogate character', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, ctrlHeavy, fc.string({ unit: 'grapheme' })), fc.option(fc.nat(400), { nil: undefined }), (s, max) => {
        const out = sanitize(s, max);
        assert.doesNotMatch(out, UNSAFE);
        assert.doesNotMatch(quote(s, max), UNSAFE);
        assert.doesNotMatch(sanitize(s, max, { showEscapeSequences: true }), UNSAFE);
      }),
      { numRuns: 500 },
    );
  });
  test('length bound: at most maxLen code points before the truncation note', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, ctrlHeavy), fc.nat(100), (s, max) => {
        const out = sanitize(s, max);
        const m = /… \((\d+) characters in all\)$/.exec(out);
        const body = m ? out.slice(0, m.index) : out;
        assert.ok([...body].length <= max);
        if (m) assert.equal(Number(m[1]), [...s].length);
      }),
      { numRuns: 500 },
    );
  });
  test('idempotent when not truncated; safe text unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, ctrlHeavy), (s) => {
        const once = sanitize(s, Infinity);
        assert.equal(sanitize(once, Infinity), once);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc.-:/ xyz\\ü例😀'.match(/./gu)!) }), (s) => {
        assert.equal(sanitize(s, Infinity), s);
      }),
    );
  });
});

describe('fuzz: round-trips', () => {
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null });
  const host: fc.Arbitrary<[string, HostKind]> = fc.oneof(
    fc.domain().filter((d) => d.length <= 255).map((d): [string, HostKind] => [d, 'dns']),
    fc.ipV4().map((h): [string, HostKind] => [h, 'ipv4']),
    fc.ipV6().map((h): [string, HostKind] => [h, 'ipv6']),
  );
  test('parseServerName(formatHostPort(host, kind, port)) gives back host, kind and port', () => {
    fc.assert(
      fc.property(host, port, ([h, kind], p) => {
        const text = formatHostPort(h, kind, p);
        const r = parseServerName(text);
        if ('error' in r) assert.fail(`${text}: ${r.error}`);
        assert.equal(r.host, h);
        assert.equal(r.hostKind, kind);
        assert.equal(r.port, p);
        assert.equal(r.serverName, text);
        assert.equal(formatHostPort(r.host, r.hostKind, r.port), text);
      }),
      { numRuns: 400 },
    );
  });
  test('a valid m.server in a well-known round-trips', () => {
    fc.assert(
      fc.property(host, port, ([h, kind], p) => {
        const text = formatHostPort(h, kind, p);
        const v = parseServerWellKnown({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'm.server': text }), truncated: false });
        if (!v.valid) assert.fail(`${text}: ${v.reason}`);
        assert.equal(v.raw, text);
        assert.equal(v.mServer.host, h);
        assert.equal(v.mServer.port, p);
      }),
      { numRuns: 500 },
    );
  });
});
