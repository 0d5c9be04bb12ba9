import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseServerWellKnown,
  cacheLifetime,
  jsonNestingDepth,
  headerValues,
  twistedStringToDatetime,
  formatDuration,
  WELL_KNOWN_MAX_BYTES,
  MAX_JSON_DEPTH,
  type WellKnownInvalid,
  type WellKnownResponse,
  type WellKnownValid,
} from '../../src/core/well-known.js';

const JSON_CT = { 'content-type': 'application/json' };

function res(body: string, over: Partial<WellKnownResponse> = {}): WellKnownResponse {
  return { status: 200, headers: JSON_CT, body, truncated: false, ...over };
}

function valid(r: WellKnownResponse): WellKnownValid {
  const v = parseServerWellKnown(r);
  if (!v.valid) assert.fail(`expected valid, got: ${v.reason}`);
  return v;
}

function invalid(r: WellKnownResponse): WellKnownInvalid {
  const v = parseServerWellKnown(r);
  if (v.valid) assert.fail(`expected invalid, got ${JSON.stringify(v)}`);
  assert.doesNotMatch(v.reason, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/, 'reason is printable');
  return v;
}

describe('parseServerWellKnown: valid', () => {
  test('a normal delegation', () => {
    const v = valid(res('{"m.server": "matrix.example.com:443"}'));
    assert.equal(v.raw, 'matrix.example.com:443');
    assert.equal(v.mServer.host, 'matrix.example.com');
    assert.equal(v.mServer.port, 443);
    assert.equal(v.mServer.hostKind, 'dns');
    assert.equal(v.contentTypeWarning, undefined);
    assert.equal(v.synapse, 'delegates');
  });
  test('no port, IP literals, extra keys, whitespace around the JSON', () => {
    assert.equal(valid(res('{"m.server":"matrix.example.com"}')).mServer.port, null);
    assert.equal(valid(res('{"m.server":"1.2.3.4:8448"}')).mServer.hostKind, 'ipv4');
    assert.equal(valid(res('{"m.server":"[2001:db8::1]"}')).mServer.host, '2001:db8::1');
    assert.equal(valid(res('\n  {"org.example.x": [1,2], "m.server": "a.example", "z": {"m.server": 5}}\r\n')).raw, 'a.example');
  });
  test('duplicate keys: the last one wins (as in Python json and Go)', () => {
    assert.equal(valid(res('{"m.server":"first.example","m.server":"second.example"}')).raw, 'second.example');
  });
  test('server-name warnings are carried (upper case)', () => {
    const v = valid(res('{"m.server":"Matrix.Example.com"}'));
    assert.match(v.mServer.warnings.join(' '), /upper-case/);
  });
  test('Content-Type: parsed regardless, warning when not application/json', () => {
    assert.equal(valid(res('{"m.server":"a.example"}', { headers: { 'content-type': 'application/json; charset=utf-8' } })).contentTypeWarning, undefined);
    assert.equal(valid(res('{"m.server":"a.example"}', { headers: { 'Content-Type': 'Application/JSON' } })).contentTypeWarning, undefined);
    const html = valid(res('{"m.server":"a.example"}', { headers: { 'content-type': 'text/html' } }));
    assert.match(html.contentTypeWarning ?? '', /Content-Type is "text\/html", not application\/json/);
    const none = valid(res('{"m.server":"a.example"}', { headers: {} }));
    assert.match(none.contentTypeWarning ?? '', /no Content-Type header/);
    const two = valid(res('{"m.server":"a.example"}', { headers: { 'content-type': ['application/json', 'application/json'] } }));
    assert.match(two.contentTypeWarning ?? '', /2 Content-Type headers/);
    const evil = valid(res('{"m.server":"a.example"}', { headers: { 'content-type': 'text/plain\x1b[31m' } }));
    assert.doesNotMatch(evil.contentTypeWarning ?? '', /\x1b/);
  });
  test('body of exactly 50 KiB is fine', () => {
    const head = '{"m.server":"a.example","pad":"';
    const body = head + 'x'.repeat(WELL_KNOWN_MAX_BYTES - head.length - 2) + '"}';
    assert.equal(Buffer.byteLength(body), WELL_KNOWN_MAX_BYTES);
    valid(res(body));
  });
});

describe('parseServerWellKnown: failures and their Synapse class', () => {
  test('truncated body: temporary, checked before the status (as Synapse does)', () => {
    const v = invalid(res('{"m.server":"a.example"}', { truncated: true }));
    assert.equal(v.problem, 'too-large');
    assert.equal(v.permanent, false);
    assert.equal(v.synapse, 'temporary-failure');
    assert.match(v.reason, /larger than 50 KiB/);
    assert.equal(invalid(res('x', { status: 404, truncated: true })).problem, 'too-large');
  });
  test('body over the cap even when not flagged truncated', () => {
    const v = invalid(res('{"m.server":"a.example","p":"' + 'é'.repeat(30000) + '"}'));
    assert.equal(v.problem, 'too-large');
    assert.equal(invalid(res('{}', { bodyBytes: WELL_KNOWN_MAX_BYTES + 1 })).problem, 'too-large');
  });
  test('5xx: temporary', () => {
    for (const status of [500, 502, 503, 504, 599]) {
      const v = invalid(res('{"m.server":"a.example"}', { status }));
      assert.equal(v.problem, 'server-error');
      assert.equal(v.permanent, false, String(status));
      assert.match(v.reason, new RegExp(`HTTP ${status}`));
    }
  });
  test('any other non-200: permanent, even with a valid body', () => {
    for (const status of [201, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 410, 418, 429, 600, 0]) {
      const v = invalid(res('{"m.server":"a.example"}', { status }));
      assert.equal(v.problem, 'not-200', String(status));
      assert.equal(v.permanent, true, String(status));
      assert.equal(v.synapse, 'permanent-failure');
    }
    assert.match(invalid(res('', { status: 404 })).reason, /HTTP 404 \(no delegation file\); only 200 counts/);
    assert.match(invalid(res('', { status: 301 })).reason, /redirect that was not followed/);
    assert.match(invalid(res('', { status: NaN })).reason, /no valid HTTP status/);
  });
  test('UTF-8 BOM: invalid (Synapse decodes as utf-8, not utf-8-sig)', () => {
    const v = invalid(res('\ufeff{"m.server":"a.example"}'));
    assert.equal(v.problem, 'bom');
    assert.equal(v.permanent, true);
    assert.match(v.reason, /starts with a byte-order mark/);
  });
  test('empty body', () => {
    assert.equal(invalid(res('')).problem, 'empty-body');
    assert.equal(invalid(res('  \n')).problem, 'empty-body');
  });
  test('not JSON: permanent, message sanitised, HTML recognised', () => {
    const v = invalid(res('<html><body>Welcome to nginx!</body></html>', { headers: { 'content-type': 'text/html' } }));
    assert.equal(v.problem, 'not-json');
    assert.equal(v.permanent, true);
    assert.match(v.reason, /not valid JSON \(it looks like an HTML page\)/);
    assert.match(v.contentTypeWarning ?? '', /text\/html/);
    assert.equal(invalid(res('{"m.server": "a.example",}')).problem, 'not-json');
    assert.equal(invalid(res("{'m.server': 'a.example'}")).problem, 'not-json');
    assert.equal(invalid(res('{"m.server": "a.example"} trailing')).problem, 'not-json');
    assert.equal(invalid(res('{"m.server": NaN}')).problem, 'not-json');
    const esc = invalid(res('\x1b]0;pwned\x07{'));
    assert.doesNotMatch(esc.reason, /\x1b|\x07/);
  });
  test('JSON that is not an object', () => {
    const cases: Array<[string, RegExp]> = [
      ['[{"m.server":"a.example"}]', /JSON an array, not a JSON object/],
      ['"a.example"', /a string/],
      ['null', /null/],
      ['42', /a number/],
      ['true', /a boolean/],
    ];
    for (const [body, re] of cases) {
      const v = invalid(res(body));
      assert.equal(v.problem, 'not-object', body);
      assert.equal(v.permanent, true);
      assert.match(v.reason, re);
    }
  });
  test('missing m.server, with hints for near misses', () => {
    assert.equal(invalid(res('{}')).problem, 'missing-m-server');
    assert.match(invalid(res('{"m_server":"a.example"}')).reason, /there is a key "m_server"/);
    assert.match(invalid(res('{"M.Server":"a.example"}')).reason, /exactly "m\.server"/);
    assert.match(invalid(res('{"m.homeserver":{"base_url":"https://a.example"}}')).reason, /client file/);
    assert.equal(invalid(res('{"x":{"m.server":"a.example"}}')).problem, 'missing-m-server');
    // prototype-ish keys are ordinary data
    assert.equal(invalid(res('{"__proto__":{"m.server":"a.example"}}')).problem, 'missing-m-server');
  });
  test('m.server not a string: permanent (Synapse: .encode fails)', () => {
    for (const [json, re] of [['8448', /a number \(8448\)/], ['null', /null/], ['["a.example"]', /an array/], ['{"host":"a"}', /an object/], ['true', /boolean/]] as const) {
      const v = invalid(res(`{"m.server": ${json}}`));
      assert.equal(v.problem, 'invalid-m-server');
      assert.equal(v.permanent, true);
      assert.equal(v.synapse, 'permanent-failure');
      assert.match(v.reason, re);
      assert.deepEqual(v.mServerRaw, JSON.parse(json));
      assert.equal(v.delegated?.problem, 'not-string');
    }
  });
  test('m.server "" : invalid; Synapse caches it as a success without delegating', () => {
    const v = invalid(res('{"m.server": ""}'));
    assert.equal(v.synapse, 'no-delegation');
    assert.equal(v.mServerRaw, '');
    assert.equal(v.delegated?.problem, 'empty');
  });
  test('ASCII m.server with bad grammar: invalid; Synapse uses it verbatim', () => {
    const cases: Array<[string, string]> = [
      ['https://matrix.example.com', 'scheme'],
      ['matrix.example.com:443/', 'path'],
      ['matrix.example.com:abc', 'grammar'],
      ['matrix.example.com\\r\\n', 'control-chars'],
      [' matrix.example.com', 'whitespace'],
      ['matrix.example.com:0', 'grammar'],
    ];
    for (const [value, problem] of cases) {
      const v = invalid(res(`{"m.server": "${value}"}`));
      assert.equal(v.problem, 'invalid-m-server');
      assert.equal(v.synapse, 'uses-verbatim', value);
      assert.equal(v.delegated?.problem, problem, value);
      assert.equal(typeof v.mServerRaw, 'string');
    }
    const url = invalid(res('{"m.server": "https://matrix.example.com"}'));
    assert.match(url.reason, /use "matrix\.example\.com:443"/);
  });
  test('non-ASCII m.server: permanent failure in Synapse', () => {
    const v = invalid(res('{"m.server": "bücher.example"}'));
    assert.equal(v.synapse, 'permanent-failure');
    assert.equal(v.delegated?.problem, 'non-ascii');
    assert.equal(invalid(res('{"m.server": "a.example\\u2028"}')).synapse, 'permanent-failure');
  });
  test('deep nesting: rejected without parsing, without throwing', () => {
    // 100,000 deep is also over 50 KiB: rejected for its size first (Synapse's order)
    const huge = '['.repeat(100_000);
    assert.equal(invalid(res(huge)).problem, 'too-large');
    assert.equal(jsonNestingDepth(huge), 100_000, 'iterative scan copes');
    // a 50,000-deep body within the size cap is rejected by the depth pre-scan, not JSON.parse
    const deep = '['.repeat(50_000);
    const v = invalid(res(deep));
    assert.equal(v.problem, 'too-deep');
    assert.equal(v.permanent, true);
    assert.match(v.reason, /more than 512 levels/);
    assert.equal(invalid(res('{"a":' + '['.repeat(50_000))).problem, 'too-deep');
    const deepObj = '{"m.server":"a.example","x":' + '{"a":'.repeat(600) + '1' + '}'.repeat(600) + '}';
    assert.equal(invalid(res(deepObj)).problem, 'too-deep');
    // exactly 512 levels is fine (the outer object is level 1)
    const ok512 = '{"m.server":"a.example","x":' + '['.repeat(511) + ']'.repeat(511) + '}';
    assert.equal(jsonNestingDepth(ok512), 512);
    assert.equal(valid(res(ok512)).raw, 'a.example');
    // brackets inside strings do not count
    valid(res('{"m.server":"a.example","s":"' + '['.repeat(5000) + '\\"[[["}'));
  });
  test('never throws on nonsense input', () => {
    const inputs: unknown[] = [
      null,
      undefined,
      {},
      { status: 200 },
      { status: '200', body: '{"m.server":"a.example"}' },
      { status: 200, body: 5, headers: null },
      { status: 200, body: '{"m.server":"a.example"}', headers: 'x', truncated: 'yes' },
    ];
    for (const i of inputs) {
      const v = parseServerWellKnown(i as WellKnownResponse);
      assert.equal(typeof v.valid, 'boolean');
    }
    // a string status is not 200
    assert.equal(parseServerWellKnown(inputs[4] as WellKnownResponse).valid, false);
  });
});

describe('jsonNestingDepth / headerValues', () => {
  test('depth', () => {
    assert.equal(jsonNestingDepth('{}'), 1);
    assert.equal(jsonNestingDepth('[[],[[]]]'), 3);
    assert.equal(jsonNestingDepth('"[[["'), 0);
    assert.equal(jsonNestingDepth('["\\\\", [1]]'), 2, 'escaped backslash ends escape');
    assert.equal(jsonNestingDepth(']]]]['), 1);
    assert.equal(jsonNestingDepth('['.repeat(10), 3), 4, 'stops early past the limit');
  });
  test('headers: case-insensitive, arrays flattened, junk skipped', () => {
    assert.deepEqual(headerValues({ 'Cache-Control': 'a', 'cache-control': ['b', 'c'] }, 'cache-control'), ['a', 'b', 'c']);
    assert.deepEqual(headerValues({ expires: undefined }, 'expires'), []);
    assert.deepEqual(headerValues(null, 'x'), []);
    assert.deepEqual(headerValues({ x: [1, 'y'] }, 'X'), ['y']);
  });
});

// ---------------------------------------------------------------------------------------------

const NOW = Date.UTC(2026, 0, 1, 0, 0, 0); // Thu, 01 Jan 2026 00:00:00 GMT

function ttl(headers: Record<string, string | string[]>, valid = true, extra: object = {}) {
  return cacheLifetime(headers, { valid, now: NOW, ...extra });
}

describe('cacheLifetime (Synapse rules, spec §4.2)', () => {
  test('no cache headers: 24 h with ±10 % jitter', () => {
    const c = ttl({});
    assert.equal(c.seconds, 86400);
    assert.equal(c.source, 'default');
    assert.deepEqual(c.jitter, [77760, 95040]);
    assert.match(c.explanation, /24 h \(±10 % jitter\)/);
    assert.equal(c.headerSeconds, null);
  });
  test('spec recommendation is always reported', () => {
    const c = ttl({});
    assert.equal(c.spec.defaultSeconds, 86400);
    assert.equal(c.spec.maxSeconds, 172800);
    assert.equal(c.spec.errorMaxSeconds, 3600);
    assert.match(c.spec.summary, /24 h .*48 h.* 1 h/);
    assert.deepEqual(ttl({}, false).spec, c.spec);
  });
  test('no-store: 0, clamped to 5 min', () => {
    const c = ttl({ 'cache-control': 'no-store' });
    assert.equal(c.seconds, 300);
    assert.equal(c.source, 'no-store');
    assert.equal(c.headerSeconds, 0);
    assert.equal(c.clamped, 'min');
    assert.match(c.explanation, /no-store: Synapse caches the result for 5 min \(the header asks for no caching/);
    // wins wherever it appears, over max-age
    assert.equal(ttl({ 'cache-control': 'max-age=7200, NO-STORE' }).source, 'no-store');
    assert.equal(ttl({ 'cache-control': ['max-age=7200', 'no-store'] }).source, 'no-store');
  });
  test('max-age, case-insensitive, spaces around "=" tolerated', () => {
    assert.equal(ttl({ 'cache-control': 'max-age=3600' }).seconds, 3600);
    assert.equal(ttl({ 'cache-control': 'MAX-AGE = 3600' }).seconds, 3600);
    assert.equal(ttl({ 'Cache-Control': 'public,  Max-Age=600 , must-revalidate' }).seconds, 600);
    assert.equal(ttl({ 'cache-control': 'max-age=3600' }).source, 'max-age');
    assert.equal(ttl({ 'cache-control': 'max-age=100, max-age=7200' }).seconds, 7200, 'last one wins');
    assert.equal(ttl({ 'cache-control': 'max-age=1_000' }).seconds, 1000, "Python int() accepts '_'");
    assert.equal(ttl({ 'cache-control': 'max-age=+900' }).seconds, 900);
  });
  test('max-age clamped to [5 min, 48 h]', () => {
    const low = ttl({ 'cache-control': 'max-age=0' });
    assert.equal(low.seconds, 300);
    assert.equal(low.clamped, 'min');
    assert.equal(ttl({ 'cache-control': 'max-age=-5' }).seconds, 300);
    assert.equal(ttl({ 'cache-control': 'max-age=299' }).seconds, 300);
    assert.equal(ttl({ 'cache-control': 'max-age=300' }).clamped, null);
    assert.equal(ttl({ 'cache-control': 'max-age=172800' }).clamped, null);
    const high = ttl({ 'cache-control': 'max-age=31536000' });
    assert.equal(high.seconds, 172800);
    assert.equal(high.clamped, 'max');
    assert.equal(high.headerSeconds, 31536000);
    assert.match(high.explanation, /caps it at 48 h, as the spec recommends/);
    assert.equal(ttl({ 'cache-control': 'max-age=' + '9'.repeat(400) }).seconds, 172800);
  });
  test('unusable max-age values are ignored (fall through to Expires / default)', () => {
    for (const cc of ['max-age="3600"', 'max-age=', 'max-age', 'max-age=60;foo', 'max-age=1e3', 'max-age=0x10', 'max-age=abc']) {
      const c = ttl({ 'cache-control': cc });
      assert.equal(c.source, 'default', cc);
      assert.equal(c.seconds, 86400, cc);
    }
    assert.match(ttl({ 'cache-control': 'max-age="3600"' }).notes.join(' '), /not an integer; Synapse ignores it/);
    const fallsToExpires = ttl({ 'cache-control': 'max-age=abc', expires: 'Thu, 01 Jan 2026 02:00:00 GMT' });
    assert.equal(fallsToExpires.source, 'expires');
    assert.equal(fallsToExpires.seconds, 7200);
  });
  test('no-cache and other directives are ignored by Synapse', () => {
    const c = ttl({ 'cache-control': 'no-cache' });
    assert.equal(c.source, 'default');
    assert.match(c.notes.join(' '), /no-cache is ignored by Synapse/);
    assert.equal(ttl({ 'cache-control': 'private, s-maxage=60' }).source, 'default');
  });
  test('max-age wins over Expires', () => {
    assert.equal(ttl({ 'cache-control': 'max-age=600', expires: 'Thu, 01 Jan 2026 05:00:00 GMT' }).seconds, 600);
  });
  test('Expires minus now, in all three HTTP date formats', () => {
    for (const e of [
      'Thu, 01 Jan 2026 02:00:00 GMT',
      'Thursday, 01-Jan-26 02:00:00 GMT',
      'Thu Jan  1 02:00:00 2026',
      '01 Jan 2026 02:00:00 GMT', // weekday omitted
      'Mon, 01 Jan 2026 02:00:00 GMT', // wrong weekday is not checked
      'Thu, 01 jan 2026 02:00:00 PST', // zone ignored (always GMT)
    ]) {
      const c = ttl({ expires: e });
      assert.equal(c.source, 'expires', e);
      assert.equal(c.seconds, 7200, e);
      assert.equal(c.headerSeconds, 7200, e);
    }
    assert.equal(cacheLifetime({ expires: 'Thu, 01 Jan 2026 02:00:00 GMT' }, { valid: true, now: new Date(NOW) }).seconds, 7200);
    assert.equal(ttl({ expires: ['Thu, 01 Jan 2026 01:00:00 GMT', 'Thu, 01 Jan 2026 03:00:00 GMT'] }).seconds, 10800, 'last header');
  });
  test('Expires clamped; in the past -> 5 min; far future -> 48 h', () => {
    const past = ttl({ expires: 'Wed, 31 Dec 2025 00:00:00 GMT' });
    assert.equal(past.seconds, 300);
    assert.equal(past.headerSeconds, -86400);
    assert.equal(ttl({ expires: 'Fri, 01 Jan 2027 00:00:00 GMT' }).seconds, 172800);
  });
  test('unparseable Expires counts as 0 -> 5 min', () => {
    for (const e of ['0', '-1', 'never', 'Thu, 01 Foo 2026 02:00:00 GMT', '2026-01-01T02:00:00Z', 'Thu, 01 Jan 1969 00:00:00 GMT', 'Thü, 01 Jan 2026 02:00:00 GMT']) {
      const c = ttl({ expires: e });
      assert.equal(c.source, 'expires-invalid', e);
      assert.equal(c.headerSeconds, 0, e);
      assert.equal(c.seconds, 300, e);
    }
  });
  test('empty Expires: Synapse raises IndexError (noted)', () => {
    const c = ttl({ expires: '' });
    assert.equal(c.source, 'expires-invalid');
    assert.match(c.notes.join(' '), /IndexError/);
    assert.match(ttl({ expires: '   ' }).notes.join(' '), /IndexError/);
    assert.equal(ttl({ expires: 'garbage' }).notes.length, 0);
  });
  test('failures: 1 h (2 min if recently valid), headers ignored', () => {
    const f = ttl({ 'cache-control': 'max-age=86400' }, false);
    assert.equal(f.seconds, 3600);
    assert.equal(f.source, 'failure');
    assert.deepEqual(f.jitter, [3240, 3960]);
    assert.match(f.explanation, /1 h \(±10 % jitter\)/);
    const r = ttl({}, false, { hadValidRecently: true });
    assert.equal(r.seconds, 120);
    assert.equal(r.source, 'failure-recently-valid');
  });
  test('never throws', () => {
    for (const h of [null, undefined, 5, 'x', { 'cache-control': 5 }, { expires: ['x', 7] }]) {
      assert.equal(typeof cacheLifetime(h, { valid: true, now: NOW }).seconds, 'number');
    }
    assert.equal(cacheLifetime({}, undefined as unknown as { valid: boolean }).source, 'failure');
  });
});

describe('twistedStringToDatetime / formatDuration', () => {
  test('RFC 7231 example date in all formats', () => {
    assert.equal(twistedStringToDatetime('Sun, 06 Nov 1994 08:49:37 GMT'), 784111777);
    assert.equal(twistedStringToDatetime('Sunday, 06-Nov-94 08:49:37 GMT'), 784111777);
    assert.equal(twistedStringToDatetime('Sun Nov  6 08:49:37 1994'), 784111777);
    assert.equal(twistedStringToDatetime('Sun, 06 Nov 1994 08:49:37'), 784111777);
    assert.equal(twistedStringToDatetime('Sun, 29 Feb 2032 00:00:00 GMT'), Date.UTC(2032, 1, 29) / 1000);
    assert.equal(twistedStringToDatetime('Fri, 31 Dec 2100 23:59:59 GMT'), Date.UTC(2100, 11, 31, 23, 59, 59) / 1000);
    // two-digit years: < 69 -> 20xx
    assert.equal(twistedStringToDatetime('Thursday, 01-Jan-26 00:00:00 GMT'), NOW / 1000);
    assert.equal(twistedStringToDatetime('Thursday, 01-Jan-70 00:00:00 GMT'), 0);
  });
  test('rejections', () => {
    assert.throws(() => twistedStringToDatetime('Sun, 06 Nov 1969 08:49:37 GMT'));
    assert.throws(() => twistedStringToDatetime('Sun, 06 Nov 1994 08:49 GMT'));
    assert.throws(() => twistedStringToDatetime(''));
  });
  test('formatDuration', () => {
    assert.equal(formatDuration(300), '5 min');
    assert.equal(formatDuration(86400), '24 h');
    assert.equal(formatDuration(172800), '48 h');
    assert.equal(formatDuration(5400), '1 h 30 min');
    assert.equal(formatDuration(17), '17 s');
    assert.equal(formatDuration(0), '0 s');
    assert.equal(formatDuration(31536000), '365 d');
    assert.equal(formatDuration(-86400), '-24 h');
  });
  test('MAX_JSON_DEPTH is 512', () => assert.equal(MAX_JSON_DEPTH, 512));
});
