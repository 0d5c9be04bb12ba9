/**
 * Property-based tests (fast-check) of what a hostile server feeds fedcheck, beyond
 * fuzz-parsers.test.ts and renderers.test.ts: canonical JSON and the safe JSON parser, signature
 * verification on arbitrary input, Cache-Control/Expires interpretation with hostile directive
 * lists, the duplicate-key scan of the well-known check, and — end to end — every check and
 * renderer on evidence whose server-controlled parts (bodies, headers, statuses, DNS answers,
 * certificates) are arbitrary: nothing throws past its boundary, no check reports an internal
 * error, and no control character reaches an output.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError, compareCodePoints, parseJsonSafely, CANONICAL_MAX_DEPTH } from '../../src/core/canonical-json.js';
import { encodeBase64, generateSigningKey, signJson, verifyJsonSignature, tryDecodeBase64 } from '../../src/core/signing.js';
import { cacheLifetime, parseServerWellKnown } from '../../src/core/well-known.js';
import { topLevelKeyCount } from '../../src/checks/well-known.js';
import { judgeServer, buildReport } from '../../src/run/judge.js';
import { renderText } from '../../src/report/text.js';
import { renderJson } from '../../src/report/json.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderGithubAnnotations } from '../../src/report/github.js';
import { findScenario } from '../../src/lab/scenarios/index.js';
import { runScenario } from '../helpers/lab.js';
import type { ServerEvidence } from '../../src/core/evidence.js';
import type { HttpExchange } from '../../src/core/types.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Strings a hostile server would send: controls, escapes, bidi, lone surrogates, JSON-ish junk. */
const hostileChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('\x1b', '[', ']', '\x07', '\r', '\n', '\t', '\x00', '\x9b', '\x85', '\u2028', '\u202e', '\ud800', '\udc00', '\ufeff', '"', '\\', '{', '}', ':', ',', '<', '%', 'é', '😀', 'm.server', 'e\u0301') },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(...'abcxyz0189.-_/ '.split('')) },
);
const hostile = fc.string({ unit: hostileChar, maxLength: 80 });

/** JSON values whose numbers are integers in the canonical range (what a signer can encode). */
const canonicalValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('fuzz: canonical JSON', () => {
  test('encodes every canonical value: parses back equal, idempotent, keys in code-point order, no whitespace', () => {
    fc.assert(
      fc.property(canonicalValue, (v) => {
        const out = canonicalJson(v);
        const back = JSON.parse(out) as unknown;
        assert.deepEqual(back, JSON.parse(JSON.stringify(v)));
        assert.equal(canonicalJson(back), out);
        // keys sorted by code point at every level
        const walk = (x: unknown): void => {
          if (x && typeof x === 'object' && !Array.isArray(x)) {
            const keys = Object.keys(x);
            for (let i = 1; i < keys.length; i++) assert.ok(compareCodePoints(keys[i - 1]!, keys[i]!) < 0);
            Object.values(x).forEach(walk);
          } else if (Array.isArray(x)) x.forEach(walk);
        };
        walk(back);
        // nothing outside strings is whitespace
        let inString = false;
        for (let i = 0; i < out.length; i++) {
          const c = out[i]!;
          if (inString) {
            if (c === '\\') i++;
            else if (c === '"') inString = false;
          } else if (c === '"') inString = true;
          else assert.ok(!/\s/.test(c), `whitespace at ${i} in ${out}`);
        }
      }),
      { numRuns: 400 },
    );
  });
  test('anything else is a CanonicalJsonError, never another exception', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true }), (v) => {
        try {
          assert.equal(typeof canonicalJson(v), 'string');
        } catch (e) {
          assert.ok(e instanceof CanonicalJsonError, `${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ min: 2 ** 53, max: Number.MAX_SAFE_INTEGER * 4 }), fc.constant(-0), fc.constant(1e21), fc.constant(2 ** 53)), (n) => {
        try {
          const out = canonicalJson({ n });
          assert.ok(Number.isSafeInteger(n) || Object.is(n, -0), `${n} accepted: ${out}`);
          if (Object.is(n, -0)) assert.equal(out, '{"n":0}');
        } catch (e) {
          assert.ok(e instanceof CanonicalJsonError);
        }
      }),
    );
  });
  test('deep nesting is refused cleanly (no stack overflow)', () => {
    for (const depth of [CANONICAL_MAX_DEPTH - 1, CANONICAL_MAX_DEPTH + 1, 100_000]) {
      let v: unknown = 0;
      for (let i = 0; i < depth; i++) v = [v];
      try {
        canonicalJson(v);
        assert.ok(depth < CANONICAL_MAX_DEPTH);
      } catch (e) {
        assert.ok(e instanceof CanonicalJsonError);
      }
    }
  });
  test('parseJsonSafely never throws and agrees with JSON.parse', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.json(),
      fc.tuple(fc.nat(20_000), fc.constantFrom('[', '{"a":', '["', '[{"":')).map(([n, open]) => open.repeat(n)),
      hostile.map((s) => `{"m.server": "${s}"}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        const r = parseJsonSafely(t);
        let expected: { ok: boolean; value?: unknown };
        try {
          expected = { ok: true, value: JSON.parse(t) };
        } catch {
          expected = { ok: false };
        }
        if (r.ok) assert.deepEqual(r.value, expected.value);
        else assert.equal(typeof r.error, 'string');
        if (expected.ok && r.ok === false) assert.match(r.error, /nesting/);
      }),
      { numRuns: 400 },
    );
  });
});

describe('fuzz: signatures', () => {
  const key = generateSigningKey('fuzz');
  test('sign then verify round-trips for any canonical object; any change is caught', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), canonicalValue, { maxKeys: 5 }), fc.string({ minLength: 1, maxLength: 5 }), (obj, extra) => {
        const signed = signJson(obj as Record<string, unknown>, 'example.org', key.keyId, key.seed);
        assert.ok(verifyJsonSignature(signed, 'example.org', key.keyId, key.publicKey).ok);
        const tampered = { ...signed, [`x${extra}`]: 1 };
        assert.equal(verifyJsonSignature(tampered, 'example.org', key.keyId, key.publicKey).ok, false);
      }),
      { numRuns: 150 },
    );
  });
  test('verifyJsonSignature never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), hostile, hostile, fc.oneof(hostile, fc.constant(key.publicKey), fc.base64String()), (doc, server, kid, pub) => {
        const r = verifyJsonSignature(doc, server, kid, pub);
        assert.equal(typeof r.ok, 'boolean');
        if (!r.ok) assert.equal(typeof r.reason, 'string');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const b = tryDecodeBase64(s);
        if (b) assert.equal(tryDecodeBase64(encodeBase64(b))?.equals(b), true);
      }),
    );
  });
});

describe('fuzz: Cache-Control and Expires', () => {
  const directive = fc.oneof(
    fc.constantFrom('max-age=3600', 'no-store', 'no-cache', 'private', 'public', 'must-revalidate', 's-maxage=10', 'max-age', 'max-age=', '=', ',,,', ' '),
    fc.tuple(fc.constantFrom('max-age', 'MAX-AGE', ' Max-Age ', 'max_age', 'max-age\t'), fc.oneof(
      fc.constantFrom('9'.repeat(400), '1e400', '-1', '+5', '0x10', '1_000', '١٢٣', '٣٦٠٠', ' 10 ', '"60"', 'NaN', 'Infinity', '-0', '00000000000000000000000001'),
      hostile,
      fc.integer().map(String),
    )).map(([k, v]) => `${k}=${v}`),
    hostile,
  );
  const value = fc.array(directive, { maxLength: 12 }).map((d) => d.join(', '));
  test('any directive list: a number of seconds within Synapse\'s bounds, printable explanation', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), fc.option(fc.oneof(hostile, fc.constantFrom('', ' ', 'Thu, 01 Jan 2099 00:00:00 GMT', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Sun, 99 Foo 99999 99:99:99 GMT')), { nil: undefined }), fc.boolean(), (cc, expires, valid) => {
        const headers: Record<string, string | string[]> = { 'cache-control': cc };
        if (expires !== undefined) headers.expires = expires;
        const l = cacheLifetime(headers, { valid, now: Date.UTC(2026, 0, 1) });
        assert.ok(Number.isFinite(l.seconds), String(l.seconds));
        if (valid) assert.ok(l.seconds >= 300 && l.seconds <= 172_800, `${l.seconds} for ${JSON.stringify(headers)}`);
        assert.doesNotMatch(l.explanation, CONTROL);
        for (const n of l.notes) assert.doesNotMatch(n, CONTROL);
      }),
      { numRuns: 500 },
    );
  });
  test('10,000 directives stay cheap', () => {
    const t0 = Date.now();
    const l = cacheLifetime({ 'cache-control': Array.from({ length: 10_000 }, (_, i) => `x${i}=${i}`).join(', ') + ', max-age=600' }, { valid: true, now: Date.now() });
    assert.equal(l.seconds, 600);
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe('fuzz: duplicate keys in the well-known', () => {
  test('topLevelKeyCount counts exactly the top-level occurrences', () => {
    const key = fc.oneof(fc.constant('m.server'), fc.string({ maxLength: 6 }), fc.constant('m\\u002eserver'));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 }), (pairs) => {
        const text = `{${pairs.map(([k, v]) => `${k.includes('\\u') ? `"${k}"` : JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return; // e.g. a key that is not valid JSON text
        }
        assert.ok(parsed);
        const expected = pairs.filter(([k]) => k === 'm.server' || k === 'm\\u002eserver').length;
        assert.equal(topLevelKeyCount(text, 'm.server'), expected, text);
      }),
      { numRuns: 300 },
    );
  });
  test('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(hostile, fc.string({ unit: 'binary' })), (t) => void topLevelKeyCount(t, 'm.server')));
  });
});

// ---------------------------------------------------------------------------------------------
// every check and renderer on hostile evidence
// ---------------------------------------------------------------------------------------------

describe('fuzz: checks and renderers on hostile evidence', () => {
  let base: ServerEvidence;
  before(async () => {
    const s = findScenario('addresses-healthy') ?? findScenario('healthy');
    assert.ok(s);
    base = (await runScenario(s)).evidence;
  });

  const headerValue = fc.oneof(hostile, fc.array(hostile, { maxLength: 3 }), fc.constantFrom('application/json', 'text/html', 'max-age=99999999999999999999', 'gzip'));
  const response = fc.record({
    status: fc.oneof(fc.constant(200), fc.integer({ min: 100, max: 999 })),
    headers: fc.dictionary(fc.constantFrom('content-type', 'cache-control', 'expires', 'location', 'content-encoding', 'server', 'access-control-allow-origin', 'x-junk'), headerValue, { maxKeys: 4 }),
    body: fc.oneof(
      hostile,
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ 'm.server': fc.oneof(hostile, fc.jsonValue({ maxDepth: 1 })) }).map((v) => JSON.stringify(v)),
      fc.record({ server: fc.record({ name: hostile, version: hostile }) }).map((v) => JSON.stringify(v)),
      fc.record({ server_name: hostile, valid_until_ts: fc.oneof(fc.integer(), fc.double(), fc.constant(1e300)), verify_keys: fc.dictionary(hostile, fc.record({ key: hostile }), { maxKeys: 3 }), signatures: fc.dictionary(hostile, fc.dictionary(hostile, hostile, { maxKeys: 2 }), { maxKeys: 2 }) }).map((v) => JSON.stringify(v)),
      fc.record({ 'm.homeserver': fc.record({ base_url: hostile }), contacts: fc.array(fc.record({ role: hostile, matrix_id: hostile, email_address: hostile }), { maxLength: 3 }), support_page: hostile }).map((v) => JSON.stringify(v)),
      fc.nat(3000).map((n) => '['.repeat(n)),
    ),
    truncated: fc.boolean(),
  });
  const netError = fc.record({ phase: fc.constantFrom('dns', 'connect', 'tls', 'http', 'timeout', 'size', 'policy', 'parse'), code: hostile, message: hostile });
  const mutation = fc.record(
    {
      wk: response,
      version: fc.oneof(response, netError),
      keys: fc.oneof(response, netError),
      health: fc.oneof(response, netError),
      tlsProtocol: fc.oneof(hostile, fc.constantFrom('TLSv1', 'TLSv1.1', 'TLSv1.3', 'SSLv3')),
      tlsChain: fc.array(fc.oneof(fc.base64String({ maxLength: 200 }), hostile), { maxLength: 3 }),
      chainError: fc.option(hostile, { nil: null }),
      srvName: hostile,
      srvPort: fc.integer({ min: 0, max: 65535 }),
      ttl: fc.integer(),
    },
    { requiredKeys: [] },
  );

  function setResponse(ex: HttpExchange | undefined, r: unknown): void {
    if (!ex) return;
    const v = r as { status?: number; phase?: string; body?: string; headers?: Record<string, string | string[]>; truncated?: boolean };
    if (v.phase !== undefined) {
      ex.response = null;
      ex.error = v as HttpExchange['error'];
    } else {
      ex.error = null;
      ex.response = { status: v.status!, httpVersion: '1.1', headers: v.headers!, body: v.body!, bodyBytes: Buffer.byteLength(v.body!), truncated: v.truncated! };
    }
  }

  let runs = 0;
  test('no check throws, none reports an internal error, no output carries a control character', () => {
    fc.assert(
      fc.property(mutation, fc.boolean(), (m, recomputeVerdict) => {
        const ev = structuredClone(base);
        const wk = ev.discovery?.wellKnown;
        if (m.wk && wk) {
          setResponse(wk.hops[wk.hops.length - 1]?.exchange, m.wk);
          const last = wk.hops[wk.hops.length - 1]?.exchange;
          if (recomputeVerdict && last?.response) wk.verdict = parseServerWellKnown(last.response);
        }
        for (const a of ev.addresses) {
          if (m.version) setResponse(a.version, m.version);
          if (m.keys) setResponse(a.keys, m.keys);
          if (m.health) setResponse(a.health, m.health);
          if (a.tls) {
            if (m.tlsProtocol !== undefined) a.tls.protocol = m.tlsProtocol;
            if (m.tlsChain !== undefined) a.tls.chain = m.tlsChain;
            if (m.chainError !== undefined) a.tls.chainError = m.chainError;
          }
        }
        const srv = ev.discovery?.srv?.fed;
        if (srv && (m.srvName !== undefined || m.srvPort !== undefined)) {
          srv.outcome = 'ok';
          srv.srv = [{ priority: 1, weight: 1, port: m.srvPort ?? 8448, name: m.srvName ?? 'x' }];
          ev.discovery!.srv!.ordered = srv.srv;
          ev.discovery!.srv!.used = 'fed';
        }
        for (const l of [ev.discovery?.srv?.fed, ev.discovery?.srv?.legacy]) if (l && m.ttl !== undefined) l.ttl = m.ttl;
        const report = judgeServer(ev);
        const internal = report.checks.find((c) => /internal error/.test(c.summary));
        assert.ok(!internal, internal?.summary);
        const full = buildReport([report]);
        // (the text renderer costs ~0.3 s a report — cli-table3 — so only every tenth run)
        const outputs = {
          text: ++runs % 10 === 0 ? renderText(full, { colour: false, width: 100 }) : '',
          json: renderJson(full),
          markdown: renderMarkdown(full),
          junit: renderJunit(full),
          github: renderGithubAnnotations(full),
        };
        for (const [name, text] of Object.entries(outputs)) {
          const hit = CONTROL.exec(text);
          assert.ok(!hit, `${name}: U+${hit?.[0].charCodeAt(0).toString(16)} near ${JSON.stringify(text.slice(Math.max(0, (hit?.index ?? 0) - 40), (hit?.index ?? 0) + 10))}`);
        }
        JSON.parse(outputs.json);
      }),
      { numRuns: 60 },
    );
  });

  test('a bundle of the wrong shape (a hostile --save-evidence file for `fedcheck judge`) never throws', () => {
    const leafPaths = (o: unknown, path: string[] = [], out: string[][] = []): string[][] => {
      if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) leafPaths(v, [...path, k], out);
      out.push(path);
      return out;
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const ev = structuredClone(base) as unknown as Record<string, unknown>;
        const paths = leafPaths(ev).filter((p) => p.length > 0);
        for (const [i, value] of edits) {
          const path = paths[i % paths.length]!;
          let o = ev as Record<string, unknown> | undefined;
          for (const k of path.slice(0, -1)) {
            if (!o || typeof o !== 'object') break; // an earlier edit replaced this subtree
            o = o[k] as Record<string, unknown> | undefined;
          }
          if (o && typeof o === 'object') o[path[path.length - 1]!] = value;
        }
        const report = judgeServer(ev as unknown as ServerEvidence);
        const full = buildReport([report]);
        if (++runs % 10 === 0) renderText(full, { colour: false });
        JSON.parse(renderJson(full));
        renderMarkdown(full);
        renderJunit(full);
        renderGithubAnnotations(full);
      }),
      { numRuns: 80 },
    );
  });
});
