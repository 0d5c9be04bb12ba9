import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sanitize, quote, isUnsafeCodePoint, escapeCodePoint } from '../../src/core/sanitize.js';

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\u061c\ufeff]/;

describe('sanitize: escape sequences are removed', () => {
  test('CSI (colours, cursor movement, erase)', () => {
    assert.equal(sanitize('\x1b[31mred\x1b[0m'), 'red');
    assert.equal(sanitize('a\x1b[2J\x1b[Hb'), 'ab');
    assert.equal(sanitize('\x1b[1;31;40mX\x1b[m'), 'X');
    assert.equal(sanitize('\x1b[?25l hidden cursor'), ' hidden cursor');
    assert.equal(sanitize('x\x1b[1Ay'), 'xy', 'cursor up (overwrite a previous line)');
    assert.equal(sanitize('8-bit \x9b31mCSI'), '8-bit CSI');
  });
  test('OSC (title, hyperlinks) with BEL or ST', () => {
    assert.equal(sanitize('\x1b]0;pwned\x07ok'), 'ok');
    assert.equal(sanitize('\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\'), 'click');
    assert.equal(sanitize('a\x9d0;t\x9cb'), 'ab', '8-bit OSC/ST');
    assert.equal(sanitize('\x1b]52;c;ZXZpbA==\x07'), '', 'clipboard write');
  });
  test('DCS / APC / PM / SOS strings and short ESC sequences', () => {
    assert.equal(sanitize('a\x1bPq#0;2;0;0;0\x1b\\b'), 'ab');
    assert.equal(sanitize('a\x1b_apc\x1b\\b'), 'ab');
    assert.equal(sanitize('a\x1b^pm\x07b'), 'ab');
    assert.equal(sanitize('a\x1bXsos\x1b\\b'), 'ab');
    assert.equal(sanitize('a\x1bcb'), 'ab', 'ESC c = full reset');
    assert.equal(sanitize('a\x1b7\x1b8b'), 'ab', 'save/restore cursor');
    assert.equal(sanitize('a\x1b(Bb'), 'ab', 'charset selection (nF)');
  });
  test('unterminated sequences are shown, not swallowed', () => {
    assert.equal(sanitize('a\x1b]0;title never ends'), 'a\\x1b]0;title never ends');
    assert.equal(sanitize('a\x1b[31'), 'a\\x1b[31');
    assert.equal(sanitize('end\x1b'), 'end\\x1b');
    assert.equal(sanitize('\x1b\x1b[1mX'), '\\x1bX');
    assert.equal(sanitize('\x1b]0;a\x1b[1mb'), '\\x1b]0;ab', 'ESC inside OSC ends it as unterminated');
  });
  test('showEscapeSequences keeps them visible', () => {
    assert.equal(sanitize('\x1b[31mred', 300, { showEscapeSequences: true }), '\\x1b[31mred');
    assert.equal(quote('\x1b]0;t\x07', 300, { showEscapeSequences: true }), '"\\x1b]0;t\\x07"');
  });
});

describe('sanitize: control characters become visible escapes', () => {
  test('C0, DEL, C1', () => {
    assert.equal(sanitize('a\nb'), 'a\\nb');
    assert.equal(sanitize('a\r\nb'), 'a\\r\\nb');
    assert.equal(sanitize('a\tb'), 'a\\tb');
    assert.equal(sanitize('\x00\x07\x08\x0b\x0c\x1f'), '\\x00\\x07\\x08\\x0b\\x0c\\x1f');
    assert.equal(sanitize('\x7f'), '\\x7f');
    assert.equal(sanitize('\x80\x85\x9c'), '\\x80\\x85\\x9c');
  });
  test('line/paragraph separators, bidi, invisible', () => {
    assert.equal(sanitize('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
    assert.equal(sanitize('pass\u202elaf'), 'pass\\u202elaf');
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c, 0x200b, 0xfeff]) {
      const out = sanitize(String.fromCodePoint(cp));
      assert.equal(out, '\\u' + cp.toString(16).padStart(4, '0'));
    }
  });
  test('lone surrogates escaped; pairs kept', () => {
    assert.equal(sanitize('a\ud800b'), 'a\\ud800b');
    assert.equal(sanitize('a\udc00'), 'a\\udc00');
    assert.equal(sanitize('😀'), '😀');
  });
  test('ordinary Unicode is untouched', () => {
    for (const s of ['bücher.example', '例え.テスト', 'Ελληνικά', 'עברית', '👨‍👩‍👧', 'tab-free text', 'C:\\path\\x1b literal']) {
      assert.equal(sanitize(s), s);
    }
  });
  test('escapeCodePoint / isUnsafeCodePoint', () => {
    assert.equal(escapeCodePoint(0x1b), '\\x1b');
    assert.equal(escapeCodePoint(0x0a), '\\n');
    assert.equal(escapeCodePoint(0x202e), '\\u202e');
    assert.equal(isUnsafeCodePoint(0x41), false);
    assert.equal(isUnsafeCodePoint(0xa0), false);
    assert.equal(isUnsafeCodePoint(0x200d), false, 'ZWJ kept for emoji');
    assert.equal(isUnsafeCodePoint(0x9f), true);
  });
});

describe('sanitize: truncation', () => {
  test('default 300 with a note of the original length', () => {
    const out = sanitize('x'.repeat(1000));
    assert.equal(out, 'x'.repeat(300) + '… (1000 characters in all)');
  });
  test('exactly maxLen is not truncated', () => {
    assert.equal(sanitize('abc', 3), 'abc');
    assert.equal(sanitize('abcd', 3), 'abc… (4 characters in all)');
  });
  test('never splits an escape or a surrogate pair; counts code points', () => {
    assert.equal(sanitize('ab\ncd', 3), 'ab… (5 characters in all)');
    assert.equal(sanitize('a😀😀', 2), 'a😀… (3 characters in all)');
    assert.equal(sanitize('😀'.repeat(10), 4), '😀'.repeat(4) + '… (10 characters in all)');
  });
  test('escape sequences do not count against the limit', () => {
    assert.equal(sanitize('\x1b[31m'.repeat(100) + 'abc', 3), 'abc');
  });
  test('maxLen 0 and odd values', () => {
    assert.equal(sanitize('abc', 0), '… (3 characters in all)');
    assert.equal(sanitize('abc', Infinity), 'abc');
    assert.equal(sanitize('abc', NaN), 'abc');
    assert.equal(sanitize('abc', 2.9), 'ab… (3 characters in all)');
  });
  test('large input is fast', () => {
    const big = 'a\x1b[1m\n'.repeat(500_000);
    const t0 = performance.now();
    const out = sanitize(big, 50);
    assert.ok(performance.now() - t0 < 200);
    assert.match(out, /… \(3000000 characters in all\)$/);
  });
  test('non-strings are converted, never thrown on', () => {
    assert.equal(sanitize(42 as unknown as string), '42');
    assert.equal(sanitize(null as unknown as string), 'null');
    assert.equal(sanitize(Object.create(null) as string), '(unprintable value)');
  });
});

describe('quote', () => {
  test('wraps in quotes, escapes inner quotes', () => {
    assert.equal(quote('example.com'), '"example.com"');
    assert.equal(quote('say "hi"'), '"say \\"hi\\""');
    assert.equal(quote(''), '""');
  });
  test('sanitizes and puts the truncation note outside the quotes', () => {
    assert.equal(quote('a\nb'), '"a\\nb"');
    assert.equal(quote('\x1b[31mx'), '"x"');
    assert.equal(quote('abcdef', 3), '"abc…" (6 characters in all)');
  });
  test('output never carries a raw control character', () => {
    const nasty = '\x1b]0;x\x07\x1b[2J\u202e\r\n\x00\x9b\u2066';
    assert.doesNotMatch(quote(nasty), UNSAFE);
    assert.doesNotMatch(sanitize(nasty), UNSAFE);
  });
});
