/**
 * Matrix canonical JSON (spec §2.1, appendix "Canonical JSON") and a JSON parser that is safe
 * against hostile input (deep nesting).
 *
 * Canonical JSON rules implemented here:
 * - no insignificant whitespace;
 * - object keys sorted by Unicode **code point** (not UTF-16 code unit, which is what
 *   `Array.prototype.sort` would do; the two orders differ for astral characters vs U+E000–U+FFFF);
 * - strings emitted as raw UTF-8: only `"`, `\`, and control characters U+0000–U+001F are escaped
 *   (`\b \t \n \f \r` short forms, otherwise `\u00xx` with lower-case hex); lone surrogates cannot
 *   be encoded as UTF-8 and are rejected;
 * - numbers must be integers in [-(2^53)+1, 2^53-1]; `-0` is written `0`, `1e10` is written
 *   `10000000000`; fractions, NaN, Infinity are rejected.
 *
 * Anything that is not a JSON value (undefined at the top level or in an array, functions, symbols,
 * bigints, class instances such as Date/Map/Buffer, cycles) throws {@link CanonicalJsonError}.
 * Object properties whose value is `undefined` are omitted, exactly as `JSON.stringify` would omit
 * them, so `canonicalJson(x) === canonicalJson(JSON.parse(JSON.stringify(x)))` for JSON-able `x`.
 */

/** Thrown by {@link canonicalJson} for values that have no canonical JSON encoding. */
export class CanonicalJsonError extends Error {
  /** JSON-pointer-ish path to the offending value, e.g. `/verify_keys/ed25519:1/key` */
  readonly path: string;
  constructor(message: string, path: string) {
    super(path ? `${message} at ${path}` : message);
    this.name = 'CanonicalJsonError';
    this.path = path;
  }
}

/** Largest nesting depth {@link canonicalJson} will encode before refusing (guards the stack). */
export const CANONICAL_MAX_DEPTH = 1000;

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

/** Compare two strings by Unicode code point. */
export function compareCodePoints(a: string, b: string): number {
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la && j < lb) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  if (i < la) return 1;
  if (j < lb) return -1;
  return 0;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function encodeString(s: string, path: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // surrogate: must be a well-formed pair
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new CanonicalJsonError('lone UTF-16 surrogate cannot be encoded as UTF-8', path);
    }
    if (c < 0x20 || c === 0x22 || c === 0x5c) {
      out += s.slice(start, i);
      out += SHORT_ESCAPES[c] ?? '\\u00' + c.toString(16).padStart(2, '0');
      start = i + 1;
    }
  }
  out += s.slice(start);
  return out + '"';
}

function encodeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(`non-finite number ${n}`, path);
  if (!Number.isInteger(n)) throw new CanonicalJsonError(`non-integer number ${n}`, path);
  if (n > MAX_SAFE || n < -MAX_SAFE) {
    throw new CanonicalJsonError(`integer ${n} outside [-(2^53)+1, 2^53-1]`, path);
  }
  if (n === 0) return '0'; // also turns -0 into 0
  // integers in the safe range stringify without exponent (exponent form starts at 1e21)
  return String(n);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function encode(value: unknown, path: string, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, path);
    case 'number':
      return encodeNumber(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= CANONICAL_MAX_DEPTH) {
        throw new CanonicalJsonError(`nesting deeper than ${CANONICAL_MAX_DEPTH}`, path);
      }
      if (seen.has(value)) throw new CanonicalJsonError('cyclic structure', path);
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          parts.push(encode(value[i], `${path}/${i}`, depth + 1, seen));
        }
        out = '[' + parts.join(',') + ']';
      } else {
        if (!isPlainObject(value)) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          throw new CanonicalJsonError(`not a plain JSON object (${name})`, path);
        }
        const rec = value as Record<string, unknown>;
        const keys = Object.keys(rec).sort(compareCodePoints);
        const parts: string[] = [];
        for (const k of keys) {
          const v = rec[k];
          if (v === undefined) continue;
          const p = `${path}/${escapePointer(k)}`;
          parts.push(encodeString(k, p) + ':' + encode(v, p, depth + 1, seen));
        }
        out = '{' + parts.join(',') + '}';
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new CanonicalJsonError(`${typeof value} is not a JSON value`, path);
  }
}

/**
 * Encode a JSON value as Matrix canonical JSON. The result is a JS string; encode it as UTF-8
 * (`Buffer.from(s, 'utf8')`) to get the bytes that are signed.
 * @throws CanonicalJsonError for floats, out-of-range integers, non-JSON values, cycles,
 *   lone surrogates, nesting deeper than {@link CANONICAL_MAX_DEPTH}.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '', 0, new Set());
}

/** Result of {@link parseJsonSafely}. */
export type SafeJsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Default maximum nesting depth accepted by {@link parseJsonSafely}. */
export const DEFAULT_MAX_JSON_DEPTH = 512;

/**
 * Nesting depth of the arrays/objects in `text`, computed iteratively (string contents skipped).
 * Stops early and returns a value > `limit` as soon as the limit is exceeded. Does not validate.
 */
export function jsonNestingDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      if (depth > 0) depth--;
    }
  }
  return max;
}

/**
 * Parse untrusted JSON text. Never throws. Rejects nesting deeper than `maxDepth` (checked by an
 * iterative pre-scan, so 100,000 `[` cannot blow the stack) and any syntax error. A leading
 * UTF-8 BOM is rejected like any other invalid JSON (as `JSON.parse` does).
 */
export function parseJsonSafely(text: string, maxDepth: number = DEFAULT_MAX_JSON_DEPTH): SafeJsonResult {
  try {
    if (typeof text !== 'string') return { ok: false, error: 'input is not a string' };
    const depth = jsonNestingDepth(text, maxDepth);
    if (depth > maxDepth) {
      return { ok: false, error: `JSON nesting deeper than ${maxDepth} levels` };
    }
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
