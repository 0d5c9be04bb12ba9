/**
 * Pure interpretation of a fetched `GET https://<hostname>/.well-known/matrix/server` response
 * (spec §1 step 3; Synapse's WellKnownResolver, spec §4.2). No I/O, never throws.
 *
 * Synapse's order of evaluation, which the verdict follows:
 *  1. body larger than 50 KiB           -> temporary failure (checked before the status!)
 *  2. 5xx                               -> temporary failure
 *  3. any other non-200                 -> permanent failure
 *  4. body.decode("utf-8") + JSON decode -> permanent failure on any error (a UTF-8 BOM included:
 *     Python's JSONDecoder.decode does not skip U+FEFF, and JSON.parse does not either)
 *  5. parsed["m.server"].encode("ascii") -> permanent failure if not an object, key missing,
 *     value not a string, or not ASCII
 *  6. anything else is a success for Synapse, even "" (cached, but no delegation) and a string
 *     that is not a valid server name (used verbatim, spec §4.1 — inferred).
 * fedcheck's own verdict is spec-based: only a value matching the server-name grammar is valid.
 */
import { jsonNestingDepth } from './canonical-json.js';
import { Buffer } from 'node:buffer';
import {
  parseDelegatedServerName,
  type DelegatedServerNameResult,
  type ParsedServerName,
} from './server-name.js';
import { quote, sanitize } from './sanitize.js';

/** Synapse's WELL_KNOWN_MAX_SIZE */
export const WELL_KNOWN_MAX_BYTES = 50 * 1024;
/** deeper JSON is rejected before JSON.parse sees it (Python's json would hit its recursion limit ~1000) */
export const MAX_JSON_DEPTH = 512;

export interface WellKnownResponse {
  status: number;
  /** header name -> value(s); names are matched case-insensitively */
  headers: Record<string, string | string[] | undefined>;
  /** body decoded as UTF-8 WITHOUT stripping a BOM (Buffer#toString does not strip it; TextDecoder does by default) */
  body: string;
  /** reading stopped at the cap */
  truncated: boolean;
  /** size on the wire, when known (else computed from `body`) */
  bodyBytes?: number;
}

export type WellKnownProblem =
  | 'too-large'
  | 'server-error'
  | 'not-200'
  | 'empty-body'
  | 'bom'
  | 'too-deep'
  | 'not-json'
  | 'not-object'
  | 'missing-m-server'
  | 'invalid-m-server';

/**
 * What Synapse does with this response (spec §4.2):
 *  delegates          valid m.server, used
 *  no-delegation      m.server is "": cached like a success (header TTL) but nothing is delegated
 *  uses-verbatim      an ASCII m.server that is not a valid server name: Synapse uses it as is
 *                     (the request then fails rather than falling back — inferred, spec §4.1)
 *  permanent-failure  cached for 1 h, falls back to SRV / 8448
 *  temporary-failure  same, but a still-cached earlier result is kept, and retried if recently valid
 */
export type SynapseWellKnownOutcome =
  | 'delegates'
  | 'no-delegation'
  | 'uses-verbatim'
  | 'permanent-failure'
  | 'temporary-failure';

export interface WellKnownValid {
  valid: true;
  mServer: ParsedServerName;
  /** the m.server string exactly as served */
  raw: string;
  /** set when Content-Type is missing or not application/json (the body is still parsed, spec §1) */
  contentTypeWarning?: string;
  synapse: 'delegates';
}

export interface WellKnownInvalid {
  valid: false;
  /** one printable sentence */
  reason: string;
  /** Synapse's permanent (true) vs temporary (false) failure class (spec §4.2) */
  permanent: boolean;
  problem: WellKnownProblem;
  contentTypeWarning?: string;
  /** the m.server value when there was one (any JSON type); sanitize before printing */
  mServerRaw?: unknown;
  /** details of an invalid m.server value */
  delegated?: Extract<DelegatedServerNameResult, { valid: false }>;
  synapse: Exclude<SynapseWellKnownOutcome, 'delegates'>;
}

export type WellKnownVerdict = WellKnownValid | WellKnownInvalid;

// ---------------------------------------------------------------------------------------------

/** All values of a header, in order; names matched case-insensitively; never throws. */
export function headerValues(headers: unknown, name: string): string[] {
  if (!headers || typeof headers !== 'object') return [];
  const out: string[] = [];
  const want = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== want) continue;
    const v = (headers as Record<string, unknown>)[key];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  }
  return out;
}

/** Re-exported: the iterative nesting scan lives with the JSON helpers. */
export { jsonNestingDepth };

function contentTypeWarningFor(headers: unknown): string | undefined {
  const values = headerValues(headers, 'content-type');
  if (values.length === 0) {
    return 'no Content-Type header; the spec says it SHOULD be application/json (homeservers parse the body as JSON anyway)';
  }
  const v = values[values.length - 1] as string;
  const mime = (v.split(';')[0] ?? '').trim().toLowerCase();
  if (mime === 'application/json') {
    if (values.length > 1) return `${values.length} Content-Type headers were sent; send exactly one, application/json`;
    return undefined;
  }
  return `Content-Type is ${quote(v, 80)}, not application/json; homeservers parse the body as JSON anyway, but the spec says it SHOULD be application/json`;
}

function invalid(
  problem: WellKnownProblem,
  reason: string,
  permanent: boolean,
  extra: Partial<WellKnownInvalid> = {},
): WellKnownInvalid {
  const synapse = extra.synapse ?? (permanent ? 'permanent-failure' : 'temporary-failure');
  const v: WellKnownInvalid = { valid: false, reason, permanent, problem, synapse };
  if (extra.contentTypeWarning !== undefined) v.contentTypeWarning = extra.contentTypeWarning;
  if ('mServerRaw' in extra) v.mServerRaw = extra.mServerRaw;
  if (extra.delegated !== undefined) v.delegated = extra.delegated;
  return v;
}

function describeJsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

/** Interpret a `/.well-known/matrix/server` response. Never throws. */
export function parseServerWellKnown(res: WellKnownResponse): WellKnownVerdict {
  try {
    return parseInner(res);
  } catch (e) {
    return invalid('not-json', `the response could not be interpreted (${sanitize(String(e), 120)})`, true);
  }
}

function parseInner(res: WellKnownResponse): WellKnownVerdict {
  const status = typeof res?.status === 'number' ? res.status : NaN;
  const body = typeof res?.body === 'string' ? res.body : '';
  const bytes =
    typeof res?.bodyBytes === 'number' && Number.isFinite(res.bodyBytes) ? res.bodyBytes : Buffer.byteLength(body, 'utf8');

  // Synapse reads the body (with the cap) before it looks at the status code.
  if (res?.truncated === true || bytes > WELL_KNOWN_MAX_BYTES) {
    return invalid(
      'too-large',
      `the response body is larger than 50 KiB (${WELL_KNOWN_MAX_BYTES} bytes), Synapse's limit; Synapse gives up (temporary failure) and falls back to SRV / port 8448`,
      false,
    );
  }
  if (status >= 500 && status <= 599) {
    return invalid(
      'server-error',
      `the server answered HTTP ${status} (a server error); homeservers treat that as a temporary failure and fall back to SRV / port 8448`,
      false,
    );
  }
  if (status !== 200) {
    const what = !Number.isFinite(status)
      ? 'no valid HTTP status'
      : status === 404
        ? 'HTTP 404 (no delegation file)'
        : status >= 300 && status <= 399
          ? `HTTP ${status}, a redirect that was not followed`
          : `HTTP ${status}`;
    return invalid('not-200', `the server answered ${what}; only 200 counts, so homeservers fall back to SRV / port 8448`, true);
  }

  const contentTypeWarning = contentTypeWarningFor(res?.headers);
  const ct = contentTypeWarning === undefined ? {} : { contentTypeWarning };

  if (body.charCodeAt(0) === 0xfeff) {
    return invalid(
      'bom',
      'the body starts with a byte-order mark (U+FEFF); Synapse decodes it as plain UTF-8 and its JSON parser rejects the BOM, so the file is ignored — save it as UTF-8 without BOM',
      true,
      ct,
    );
  }
  if (body.trim() === '') {
    return invalid('empty-body', 'the body is empty; it must be a JSON object such as {"m.server": "matrix.example.com:443"}', true, ct);
  }
  const depth = jsonNestingDepth(body, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) {
    return invalid('too-deep', `the body is JSON nested more than ${MAX_JSON_DEPTH} levels deep; it is rejected unparsed`, true, ct);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    const looksHtml = /^\s*</.test(body);
    const detail = e instanceof Error ? e.message : String(e);
    // Homeservers ask for no compression and decompress nothing (neither does fedcheck: a gzip
    // bomb stays the few bytes on the wire).
    const encoding = headerValues(res?.headers, 'content-encoding').find((v) => !/^\s*identity\s*$/i.test(v));
    const how = looksHtml ? ' (it looks like an HTML page)' : encoding !== undefined ? ` (it is compressed, Content-Encoding: ${quote(encoding, 30)}, although no compression was asked for: homeservers read it as it is)` : '';
    return invalid(
      'not-json',
      `the body is not valid JSON${how}: ${sanitize(detail, 160)}`,
      true,
      ct,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('not-object', `the body is JSON ${describeJsonType(parsed)}, not a JSON object`, true, ct);
  }
  if (!Object.prototype.hasOwnProperty.call(parsed, 'm.server')) {
    const keys = Object.keys(parsed);
    const near = keys.find((k) => k.replace(/[^A-Za-z0-9]/g, '').toLowerCase() === 'mserver');
    const hint = near !== undefined
      ? ` (there is a key ${quote(near, 40)} — the key must be exactly "m.server")`
      : keys.includes('m.homeserver')
        ? ' (this looks like the client file, /.well-known/matrix/client)'
        : '';
    return invalid('missing-m-server', `the JSON object has no "m.server" key${hint}`, true, ct);
  }
  const value = (parsed as Record<string, unknown>)['m.server'];
  const d = parseDelegatedServerName(value);
  if (d.valid) {
    const v: WellKnownValid = { valid: true, mServer: d.parsed, raw: d.raw, synapse: 'delegates' };
    if (contentTypeWarning !== undefined) v.contentTypeWarning = contentTypeWarning;
    return v;
  }
  let synapse: WellKnownInvalid['synapse'];
  if (typeof value !== 'string' || /[^\x00-\x7f]/.test(value)) synapse = 'permanent-failure';
  else if (value === '') synapse = 'no-delegation';
  else synapse = 'uses-verbatim';
  return invalid('invalid-m-server', d.reason, true, { ...ct, mServerRaw: value, delegated: d, synapse });
}

// ---------------------------------------------------------------------------------------------
// Cache lifetime (spec §1 step 3 recommendations; Synapse's rules, spec §4.2)
// ---------------------------------------------------------------------------------------------

export const WELL_KNOWN_DEFAULT_CACHE_SECONDS = 24 * 3600;
export const WELL_KNOWN_MAX_CACHE_SECONDS = 48 * 3600;
export const WELL_KNOWN_MIN_CACHE_SECONDS = 5 * 60;
export const WELL_KNOWN_FAILURE_CACHE_SECONDS = 3600;
export const WELL_KNOWN_DOWN_CACHE_SECONDS = 2 * 60;
export const WELL_KNOWN_JITTER = 0.1;

export type CacheLifetimeSource =
  | 'no-store'
  | 'max-age'
  | 'expires'
  | 'expires-invalid'
  | 'default'
  | 'failure'
  | 'failure-recently-valid';

export interface CacheLifetime {
  /** what Synapse caches the result for, in seconds, before jitter */
  seconds: number;
  source: CacheLifetimeSource;
  explanation: string;
  /** the TTL the headers asked for before clamping (null when no header applied) */
  headerSeconds: number | null;
  /** Synapse's jittered range [min, max] in seconds, when jitter applies */
  jitter: [number, number] | null;
  /** where the header-derived TTL was clamped */
  clamped: 'min' | 'max' | null;
  /** what the spec recommends (spec §1 step 3) */
  spec: {
    defaultSeconds: number;
    maxSeconds: number;
    errorMaxSeconds: number;
    summary: string;
  };
  /** extra remarks (e.g. where Synapse deviates from the headers or the spec) */
  notes: string[];
}

export interface CacheLifetimeOptions {
  /**
   * Whether Synapse caches this response as a success: true for verdict.synapse of 'delegates',
   * 'no-delegation' or 'uses-verbatim'; false for failures.
   */
  valid: boolean;
  /** the time the response was received (ms since the epoch, or a Date); default: Date.now() */
  now?: number | Date;
  /** the domain had a valid well-known recently (Synapse caches failures for 2 min then) */
  hadValidRecently?: boolean;
}

const SPEC_SUMMARY =
  'the spec recommends respecting cache headers, 24 h when there are none, at most 48 h, and caching errors for up to 1 h with exponential backoff';

function spec(): CacheLifetime['spec'] {
  return {
    defaultSeconds: WELL_KNOWN_DEFAULT_CACHE_SECONDS,
    maxSeconds: WELL_KNOWN_MAX_CACHE_SECONDS,
    errorMaxSeconds: WELL_KNOWN_FAILURE_CACHE_SECONDS,
    summary: SPEC_SUMMARY,
  };
}

/** "5 min", "48 h", "1 h 30 min", "17 s" */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return seconds > 0 ? 'forever' : '-forever';
  const neg = seconds < 0;
  let s = Math.round(Math.abs(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  // days only beyond 48 h, so the common 24 h / 48 h read as hours
  if (s > 2 * 86400) {
    parts.push(`${d} d`);
    s -= d * 86400;
  }
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return (neg ? '-' : '') + parts.slice(0, 2).join(' ');
}

/** Python's int() on an ASCII string (base 10): whitespace, sign, digit groups with single underscores. */
function pyInt(s: string): number | null {
  const m = /^[ \t\n\r\x0b\x0c]*([+-]?)([0-9]+(?:_[0-9]+)*)[ \t\n\r\x0b\x0c]*$/.exec(s);
  if (!m) return null;
  const n = Number((m[2] as string).replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

/** Python bytes.strip() */
function pyStrip(s: string): string {
  return s.replace(/^[ \t\n\r\x0b\x0c]+|[ \t\n\r\x0b\x0c]+$/g, '');
}

/** Python str.split() with no argument, for ASCII text */
function pySplit(s: string): string[] {
  return s.split(/[ \t\n\r\x0b\x0c\x1c-\x1f]+/).filter((x) => x !== '');
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const MONTHS = [null, 'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MDAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class PyValueError extends Error {}
class PyIndexError extends Error {}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function leapdays(y1: number, y2: number): number {
  const a = y1 - 1;
  const b = y2 - 1;
  const fd = (x: number, k: number) => Math.floor(x / k);
  return fd(b, 4) - fd(a, 4) - (fd(b, 100) - fd(a, 100)) + (fd(b, 400) - fd(a, 400));
}

function intOrThrow(s: string): number {
  const n = pyInt(s);
  if (n === null) throw new PyValueError(`invalid literal for int(): ${s}`);
  return n;
}

/**
 * A port of Twisted's `twisted.web.http.stringToDatetime` (used by Synapse for `Expires`): RFC 1123,
 * RFC 850 and asctime formats, the time zone ignored (always GMT), weekday optional. Returns epoch
 * seconds; throws PyValueError for what Twisted rejects with ValueError and PyIndexError for an
 * empty value (where Twisted raises IndexError, which Synapse does not catch).
 */
export function twistedStringToDatetime(dateString: string): number {
  if (/[^\x00-\x7f]/.test(dateString)) throw new PyValueError('non-ASCII date'); // nativeString() -> UnicodeDecodeError
  const parts = pySplit(dateString);
  if (parts.length === 0) throw new PyIndexError('list index out of range');
  if (!WEEKDAYS.includes((parts[0] as string).slice(0, 3).toLowerCase())) {
    try {
      return twistedStringToDatetime('Sun, ' + dateString);
    } catch (e) {
      if (!(e instanceof PyValueError)) throw e;
    }
  }
  const partlen = parts.length;
  let day: string | number;
  let month: string;
  let year: string | number;
  let time: string;
  if ((partlen === 5 || partlen === 6) && /^[0-9]+$/.test(parts[1] as string)) {
    day = parts[1] as string;
    month = parts[2] as string;
    year = parts[3] as string;
    time = parts[4] as string;
  } else if ((partlen === 3 || partlen === 4) && (parts[1] as string).includes('-')) {
    const dmy = (parts[1] as string).split('-');
    if (dmy.length !== 3) throw new PyValueError('wrong number of values to unpack');
    day = dmy[0] as string;
    month = dmy[1] as string;
    time = parts[2] as string;
    let y = intOrThrow(dmy[2] as string);
    if (y < 69) y += 2000;
    else if (y < 100) y += 1900;
    year = y;
  } else if (partlen === 5) {
    day = parts[2] as string;
    month = parts[1] as string;
    year = parts[4] as string;
    time = parts[3] as string;
  } else {
    throw new PyValueError('Unknown datetime format');
  }
  const dayN = typeof day === 'number' ? day : intOrThrow(day);
  const monthN = MONTHS.indexOf(month.toLowerCase());
  if (monthN < 1) throw new PyValueError('unknown month');
  const yearN = typeof year === 'number' ? year : intOrThrow(year);
  const hms = time.split(':');
  if (hms.length !== 3) throw new PyValueError('wrong number of values to unpack');
  const [hh, mm, ss] = hms.map(intOrThrow) as [number, number, number];
  if (yearN < 1970) throw new PyValueError('Years prior to 1970 not supported');
  let days = 365 * (yearN - 1970) + leapdays(1970, yearN);
  for (let i = 1; i < monthN; i++) days += MDAYS[i] as number;
  if (monthN > 2 && isLeap(yearN)) days += 1;
  days += dayN - 1;
  return ((days * 24 + hh) * 60 + mm) * 60 + ss;
}

/** Synapse's _parse_cache_control: every header value split on ',', then on the first '='. */
function parseCacheControl(values: string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const hdr of values) {
    for (const directive of hdr.split(',')) {
      const eq = directive.indexOf('=');
      const k = pyStrip(eq < 0 ? directive : directive.slice(0, eq)).replace(/[A-Z]+/g, (x) => x.toLowerCase());
      const v = eq < 0 ? null : pyStrip(directive.slice(eq + 1));
      out.set(k, v);
    }
  }
  return out;
}

/**
 * How long Synapse caches a well-known result (spec §4.2), with the spec's recommendation next to
 * it. `seconds` is the nominal value; Synapse multiplies defaults and failure periods by U(0.9, 1.1).
 * Never throws.
 */
export function cacheLifetime(headers: unknown, opts: CacheLifetimeOptions): CacheLifetime {
  try {
    return cacheLifetimeInner(headers, opts);
  } catch (e) {
    return {
      seconds: WELL_KNOWN_DEFAULT_CACHE_SECONDS,
      source: 'default',
      explanation: `cache headers could not be interpreted (${sanitize(String(e), 80)}); assuming Synapse's default of 24 h`,
      headerSeconds: null,
      jitter: null,
      clamped: null,
      spec: spec(),
      notes: [],
    };
  }
}

function jitterOf(seconds: number): [number, number] {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return [r(seconds * (1 - WELL_KNOWN_JITTER)), r(seconds * (1 + WELL_KNOWN_JITTER))];
}

function cacheLifetimeInner(headers: unknown, opts: CacheLifetimeOptions): CacheLifetime {
  const notes: string[] = [];
  if (!opts || opts.valid !== true) {
    if (opts?.hadValidRecently) {
      return {
        seconds: WELL_KNOWN_DOWN_CACHE_SECONDS,
        source: 'failure-recently-valid',
        explanation:
          'Synapse caches a failed lookup for 2 min (±10 % jitter) when the domain had a valid well-known recently, ignoring cache headers',
        headerSeconds: null,
        jitter: jitterOf(WELL_KNOWN_DOWN_CACHE_SECONDS),
        clamped: null,
        spec: spec(),
        notes,
      };
    }
    return {
      seconds: WELL_KNOWN_FAILURE_CACHE_SECONDS,
      source: 'failure',
      explanation:
        'Synapse caches a failed or invalid well-known for 1 h (±10 % jitter), ignoring cache headers (2 min if the domain had a valid one recently); the spec recommends caching errors for at most 1 h',
      headerSeconds: null,
      jitter: jitterOf(WELL_KNOWN_FAILURE_CACHE_SECONDS),
      clamped: null,
      spec: spec(),
      notes,
    };
  }

  let nowMs = opts.now instanceof Date ? opts.now.getTime() : typeof opts.now === 'number' ? opts.now : Date.now();
  if (!Number.isFinite(nowMs)) nowMs = Date.now(); // an invalid clock must not turn into a 48 h TTL
  const cc = parseCacheControl(headerValues(headers, 'cache-control'));
  if (cc.has('no-cache') && !cc.has('no-store')) {
    notes.push('Cache-Control: no-cache is ignored by Synapse (Conduit treats it as "do not cache")');
  }

  let headerSeconds: number | null = null;
  let source: CacheLifetimeSource | null = null;
  let how = '';
  if (cc.has('no-store')) {
    headerSeconds = 0;
    source = 'no-store';
    how = 'Cache-Control: no-store';
  } else {
    const maxAge = cc.get('max-age');
    if (maxAge) {
      const n = pyInt(maxAge);
      if (n !== null) {
        headerSeconds = n;
        source = 'max-age';
        how = `Cache-Control: max-age=${sanitize(maxAge, 30)}`;
      } else {
        notes.push(`Cache-Control max-age value ${quote(maxAge, 40)} is not an integer; Synapse ignores it`);
      }
    }
    if (source === null) {
      const expires = headerValues(headers, 'expires');
      if (expires.length > 0) {
        const last = expires[expires.length - 1] as string;
        try {
          const at = twistedStringToDatetime(last);
          headerSeconds = at - nowMs / 1000;
          source = 'expires';
          how = `Expires: ${sanitize(last, 60)} (${formatDuration(headerSeconds)} from now)`;
        } catch (e) {
          headerSeconds = 0;
          source = 'expires-invalid';
          how = `an Expires header Synapse cannot parse (${quote(last, 60)}), which counts as already expired`;
          if (e instanceof PyIndexError) {
            notes.push(
              "an empty Expires header makes Synapse's date parser raise IndexError, which Synapse does not catch: its well-known lookup, and with it the federation request, fails outright (inferred from reading the code)",
            );
          }
        }
      }
    }
  }

  if (source === null || headerSeconds === null) {
    return {
      seconds: WELL_KNOWN_DEFAULT_CACHE_SECONDS,
      source: 'default',
      explanation:
        'no usable cache headers: Synapse caches the result for 24 h (±10 % jitter), the spec\'s recommended default, and refetches after 80 % of that',
      headerSeconds: null,
      jitter: jitterOf(WELL_KNOWN_DEFAULT_CACHE_SECONDS),
      clamped: null,
      spec: spec(),
      notes,
    };
  }

  let seconds = headerSeconds;
  let clamped: CacheLifetime['clamped'] = null;
  if (!(seconds <= WELL_KNOWN_MAX_CACHE_SECONDS)) {
    seconds = WELL_KNOWN_MAX_CACHE_SECONDS;
    clamped = 'max';
  } else if (!(seconds >= WELL_KNOWN_MIN_CACHE_SECONDS)) {
    seconds = WELL_KNOWN_MIN_CACHE_SECONDS;
    clamped = 'min';
  }
  let explanation = `${how}: Synapse caches the result for ${formatDuration(seconds)}`;
  if (clamped === 'max') {
    explanation += ` (the header asks for ${formatDuration(headerSeconds)}; Synapse caps it at 48 h, as the spec recommends)`;
  } else if (clamped === 'min') {
    explanation += ` (the header asks for ${headerSeconds <= 0 ? 'no caching' : formatDuration(headerSeconds)}; Synapse caches for at least 5 min)`;
  }
  explanation += ', and refetches after 80 % of that';
  return { seconds, source, explanation, headerSeconds, jitter: null, clamped, spec: spec(), notes };
}
