/**
 * Pure interpretation of client discovery (spec §2.3) and the support file (spec §2.4). No I/O,
 * never throws. The gatherer (probes/client.ts) uses it to decide what to fetch next; the checks
 * use it to say which outcome a client reaches and why.
 *
 * Outcomes (spec §2.3): IGNORE (stop, fall back to other means), FAIL_PROMPT (tell the user the
 * discovery data was invalid, then prompt), FAIL_ERROR (valid data but no usable server: stop the
 * login). Where the spec is silent (a connection or TLS failure) we say what matrix-js-sdk does.
 * Where the spec and matrix-js-sdk differ in detail we follow matrix-js-sdk's order of tests, which
 * the spec's algorithm describes loosely: `m.homeserver.base_url` missing or empty → FAIL_PROMPT;
 * present but not a string, or not an http(s) URL → FAIL_ERROR.
 */
import { Buffer } from 'node:buffer';
import type { HttpResponseEvidence } from './types.js';
import { parseJsonSafely } from './canonical-json.js';
import { headerValues } from './well-known.js';
import { quote, sanitize } from './sanitize.js';

export type ClientOutcome = 'IGNORE' | 'FAIL_PROMPT' | 'FAIL_ERROR' | 'valid';

/** The Origin fedcheck sends, as Element Web's own deployment does. */
export const CLIENT_ORIGIN = 'https://app.element.io';

/** Body cap for the client-side files (the spec sets none; 64 KiB is plenty for a few URLs). */
export const CLIENT_FILE_MAX_BYTES = 64 * 1024;

/** Redirects followed for the client files (browsers follow 20). */
export const CLIENT_MAX_REDIRECTS = 20;

export type ClientFileProblem =
  | 'not-found'
  | 'not-200'
  | 'empty-body'
  | 'not-json'
  | 'not-object'
  | 'no-homeserver'
  | 'no-base-url'
  | 'bad-base-url'
  | 'no-identity-base-url'
  | 'bad-identity-base-url';

export interface ClientFileVerdict {
  /** the outcome decided by the file alone; 'valid' still needs the /versions validation */
  outcome: ClientOutcome;
  problem: ClientFileProblem | null;
  /** one printable sentence, null when valid */
  reason: string | null;
  /** m.homeserver.base_url normalised (no trailing slash, no query), when it is a usable URL */
  baseUrl: string | null;
  /** the raw base_url value (any JSON type); sanitize before printing */
  baseUrlRaw?: unknown;
  /** m.identity_server present? */
  identityPresent: boolean;
  /** m.identity_server.base_url normalised, when present and usable */
  identityBaseUrl: string | null;
  contentTypeWarning?: string;
}

/** Longer base_url / support_page values are rejected (no real one comes close). */
export const MAX_BASE_URL_LENGTH = 512;

/** A base_url as clients accept it (matrix-js-sdk `sanitizeWellKnownUrl`): an http(s) URL with a host. */
export function normaliseBaseUrl(value: unknown): { ok: true; url: string } | { ok: false; reason: string } {
  if (typeof value !== 'string') return { ok: false, reason: `it is ${jsonType(value)}, not a string` };
  // A hostile file can name a URL of 60 KB; it would be repeated in every finding about it.
  if (value.length > MAX_BASE_URL_LENGTH) return { ok: false, reason: `${quote(value, 60)} is ${value.length} characters long; no homeserver URL is longer than ${MAX_BASE_URL_LENGTH}` };
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    const hint = /^[A-Za-z0-9.-]+(:\d+)?(\/.*)?$/.test(value) ? ` (no scheme: did you mean "https://${sanitize(value, 100)}"?)` : '';
    return { ok: false, reason: `${quote(value, 120)} is not a URL${hint}` };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { ok: false, reason: `${quote(value, 120)} is a ${sanitize(u.protocol.replace(':', ''), 20)}: URL; clients need http(s)` };
  }
  if (!u.hostname) return { ok: false, reason: `${quote(value, 120)} has no host` };
  const path = u.pathname.replace(/\/+$/, '');
  return { ok: true, url: `${u.protocol}//${u.host}${path}` };
}

/** `<base>` + `/_matrix/...`, base already normalised (or ending in '/': handled). */
export function joinBase(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return `a number (${sanitize(String(v), 30)})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  return typeof v;
}

function contentTypeWarning(headers: unknown): string | undefined {
  const values = headerValues(headers, 'content-type');
  if (values.length === 0) return 'no Content-Type header (it should be application/json)';
  const v = values[values.length - 1] as string;
  const mime = (v.split(';')[0] ?? '').trim().toLowerCase();
  if (mime === 'application/json') return values.length > 1 ? `${values.length} Content-Type headers (send exactly one, application/json)` : undefined;
  return `Content-Type is ${quote(v, 80)}, not application/json`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Interpret a `/.well-known/matrix/client` response (spec §2.3 steps 3–7, without the network
 * validations of base_url). Never throws.
 */
export function parseClientWellKnown(res: HttpResponseEvidence): ClientFileVerdict {
  const base = { baseUrl: null, identityPresent: false, identityBaseUrl: null } as const;
  const v = (outcome: ClientOutcome, problem: ClientFileProblem | null, reason: string | null, extra: Partial<ClientFileVerdict> = {}): ClientFileVerdict => ({ ...base, outcome, problem, reason, ...extra });
  try {
    if (res.status === 404) return v('IGNORE', 'not-found', 'the server answered 404: there is no client discovery file');
    if (res.status !== 200) {
      return v('FAIL_PROMPT', 'not-200', `the server answered HTTP ${res.status}; only 200 (or 404) is acceptable`);
    }
    const ct = contentTypeWarning(res.headers);
    const ctx = ct === undefined ? {} : { contentTypeWarning: ct };
    const body = typeof res.body === 'string' ? res.body : '';
    if (body.trim() === '') return v('FAIL_PROMPT', 'empty-body', 'the body is empty', ctx);
    const parsed = parseJsonSafely(body);
    if (!parsed.ok) {
      const html = /^\s*</.test(body) ? ' (it looks like an HTML page)' : '';
      const bom = body.charCodeAt(0) === 0xfeff ? ' (it starts with a byte-order mark)' : '';
      return v('FAIL_PROMPT', 'not-json', `the body is not valid JSON${html}${bom}: ${sanitize(parsed.error, 120)}`, ctx);
    }
    if (!isPlainObject(parsed.value)) {
      return v('FAIL_PROMPT', 'not-object', `the body is JSON ${jsonType(parsed.value)}, not a JSON object`, ctx);
    }
    const doc = parsed.value;
    const hs = doc['m.homeserver'];
    if (!isPlainObject(hs)) {
      const near = Object.keys(doc).find((k) => k !== 'm.homeserver' && k.replace(/[^A-Za-z]/g, '').toLowerCase() === 'mhomeserver');
      const what = hs === undefined
        ? `there is no "m.homeserver" key${near !== undefined ? ` (there is ${quote(near, 40)} — the key must be exactly "m.homeserver")` : Object.prototype.hasOwnProperty.call(doc, 'm.server') ? ' (this looks like the server file, /.well-known/matrix/server)' : ''}`
        : `"m.homeserver" is ${jsonType(hs)}, not an object`;
      return v('FAIL_PROMPT', 'no-homeserver', what, ctx);
    }
    const raw = hs['base_url'];
    if (raw === undefined || raw === null || raw === '') {
      return v('FAIL_PROMPT', 'no-base-url', raw === '' ? '"m.homeserver.base_url" is empty' : '"m.homeserver" has no "base_url"', { ...ctx, baseUrlRaw: raw });
    }
    const b = normaliseBaseUrl(raw);
    if (!b.ok) return v('FAIL_ERROR', 'bad-base-url', `"m.homeserver.base_url" is not a usable URL: ${b.reason}`, { ...ctx, baseUrlRaw: raw });
    const out: Partial<ClientFileVerdict> = { ...ctx, baseUrl: b.url, baseUrlRaw: raw };
    if (Object.prototype.hasOwnProperty.call(doc, 'm.identity_server')) {
      out.identityPresent = true;
      const is = doc['m.identity_server'];
      const isRaw = isPlainObject(is) ? is['base_url'] : undefined;
      if (isRaw === undefined || isRaw === null || isRaw === '') {
        return v('FAIL_PROMPT', 'no-identity-base-url', `"m.identity_server" is present but has no "base_url"${isPlainObject(is) ? '' : ` (it is ${jsonType(is)})`}`, out);
      }
      const ib = normaliseBaseUrl(isRaw);
      if (!ib.ok) return v('FAIL_ERROR', 'bad-identity-base-url', `"m.identity_server.base_url" is not a usable URL: ${ib.reason}`, out);
      out.identityBaseUrl = ib.url;
    }
    return v('valid', null, null, out);
  } catch (e) {
    return v('FAIL_PROMPT', 'not-json', `the response could not be interpreted (${sanitize(String(e), 100)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// GET <base_url>/_matrix/client/versions and <identity>/_matrix/identity/v2
// ---------------------------------------------------------------------------------------------

/** spec: "vX.Y", or the historical "rX.Y.Z" */
export const VERSION_PATTERN = /^(v\d+\.\d+|r\d+\.\d+\.\d+)$/;

export interface VersionsVerdict {
  ok: boolean;
  reason: string | null;
  versions: string[];
  /** versions that do not look like vX.Y / rX.Y.Z */
  unrecognised: string[];
  unstableFeatures: number;
}

function errcodeOf(body: string): string {
  const p = parseJsonSafely(body);
  if (p.ok && isPlainObject(p.value) && typeof p.value['errcode'] === 'string') return ` (${sanitize(p.value['errcode'], 40)})`;
  return '';
}

/** Validate a /_matrix/client/versions response against its schema (spec §2.3 step 6). */
export function validateVersions(res: HttpResponseEvidence): VersionsVerdict {
  const bad = (reason: string): VersionsVerdict => ({ ok: false, reason, versions: [], unrecognised: [], unstableFeatures: 0 });
  try {
    if (res.status !== 200) return bad(`it answered HTTP ${res.status}${errcodeOf(res.body)}`);
    if (res.truncated) return bad('the body is larger than fedcheck reads');
    const p = parseJsonSafely(res.body ?? '');
    if (!p.ok) return bad(`the body is not JSON${/^\s*</.test(res.body) ? ' (an HTML page?)' : ''}`);
    if (!isPlainObject(p.value)) return bad(`the body is JSON ${jsonType(p.value)}, not an object`);
    const versions = p.value['versions'];
    if (!Array.isArray(versions)) return bad(versions === undefined ? 'the body has no "versions" array' : `"versions" is ${jsonType(versions)}, not an array`);
    const notString = versions.find((x) => typeof x !== 'string');
    if (notString !== undefined) return bad(`"versions" holds ${jsonType(notString)}; every entry must be a string`);
    const uf = p.value['unstable_features'];
    let unstableFeatures = 0;
    if (uf !== undefined) {
      if (!isPlainObject(uf)) return bad(`"unstable_features" is ${jsonType(uf)}, not an object of booleans`);
      const nb = Object.entries(uf).find(([, x]) => typeof x !== 'boolean');
      if (nb) return bad(`"unstable_features" maps ${quote(nb[0], 60)} to ${jsonType(nb[1])}, not a boolean`);
      unstableFeatures = Object.keys(uf).length;
    }
    const vs = versions as string[];
    return { ok: true, reason: null, versions: vs, unrecognised: vs.filter((x) => !VERSION_PATTERN.test(x)), unstableFeatures };
  } catch (e) {
    return bad(`the response could not be interpreted (${sanitize(String(e), 80)})`);
  }
}

/** Validate `GET <identity base>/_matrix/identity/v2` (spec §2.3 step 7): 200 and a JSON object. */
export function validateIdentity(res: HttpResponseEvidence): { ok: boolean; reason: string | null } {
  if (res.status !== 200) return { ok: false, reason: `it answered HTTP ${res.status}${errcodeOf(res.body)}` };
  const p = parseJsonSafely(res.body ?? '');
  if (!p.ok || !isPlainObject(p.value)) return { ok: false, reason: 'the body is not a JSON object' };
  return { ok: true, reason: null };
}

/** "14 versions: v1.1 … v1.12" */
export function describeVersions(vs: string[]): string {
  if (vs.length === 0) return 'no versions';
  const sorted = [...vs].sort((a, b) => {
    const na = a.slice(1).split('.').map(Number);
    const nb = b.slice(1).split('.').map(Number);
    if (a[0] !== b[0]) return a[0] === 'r' ? -1 : 1;
    for (let i = 0; i < Math.max(na.length, nb.length); i++) {
      const d = (na[i] ?? 0) - (nb[i] ?? 0);
      if (d) return d;
    }
    return 0;
  });
  const shown = sorted.length <= 3 ? sorted.map((s) => sanitize(s, 20)).join(', ') : `${sanitize(sorted[0]!, 20)} … ${sanitize(sorted[sorted.length - 1]!, 20)}`;
  return `${vs.length} version${vs.length === 1 ? '' : 's'}: ${shown}`;
}

// ---------------------------------------------------------------------------------------------
// /.well-known/matrix/support (spec §2.4)
// ---------------------------------------------------------------------------------------------

export interface SupportVerdict {
  valid: boolean;
  problems: string[];
  contacts: number;
  roles: string[];
  supportPage: string | null;
}

const MXID = /^@[^:\s]+:[^\s]+$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** Validate a 200 support file body (spec §2.4). */
export function validateSupport(body: string): SupportVerdict {
  const out: SupportVerdict = { valid: false, problems: [], contacts: 0, roles: [], supportPage: null };
  const p = parseJsonSafely(body ?? '');
  if (!p.ok) {
    out.problems.push(`the body is not valid JSON${/^\s*</.test(body) ? ' (an HTML page?)' : ''}`);
    return out;
  }
  if (!isPlainObject(p.value)) {
    out.problems.push(`the body is JSON ${jsonType(p.value)}, not an object`);
    return out;
  }
  const doc = p.value;
  const contacts = doc['contacts'];
  const page = doc['support_page'];
  if (contacts === undefined && page === undefined) out.problems.push('it has neither "contacts" nor "support_page" (at least one is required)');
  if (contacts !== undefined) {
    if (!Array.isArray(contacts)) out.problems.push(`"contacts" is ${jsonType(contacts)}, not an array`);
    else {
      if (contacts.length === 0 && page === undefined) out.problems.push('"contacts" is empty and there is no "support_page"');
      contacts.forEach((c, i) => {
        const n = `contact ${i + 1}`;
        if (!isPlainObject(c)) {
          out.problems.push(`${n} is ${jsonType(c)}, not an object`);
          return;
        }
        const role = c['role'];
        if (typeof role !== 'string' || role === '') out.problems.push(`${n} has no "role" (m.role.admin, m.role.security or a namespaced role)`);
        else {
          if (role.startsWith('m.') && role !== 'm.role.admin' && role !== 'm.role.security') {
            out.problems.push(`${n} has the unknown role ${quote(role, 60)} (the spec defines m.role.admin and m.role.security; custom roles use your own namespace, e.g. "org.example.role.moderator")`);
          }
          if (!out.roles.includes(role)) out.roles.push(sanitize(role, 60));
        }
        const mxid = c['matrix_id'];
        const email = c['email_address'];
        if (mxid === undefined && email === undefined) out.problems.push(`${n} has neither "matrix_id" nor "email_address"`);
        if (mxid !== undefined && (typeof mxid !== 'string' || !MXID.test(mxid))) out.problems.push(`${n}: "matrix_id" ${typeof mxid === 'string' ? quote(mxid, 80) : `(${jsonType(mxid)})`} is not a user ID such as "@admin:example.org"`);
        if (email !== undefined && (typeof email !== 'string' || !EMAIL.test(email))) out.problems.push(`${n}: "email_address" ${typeof email === 'string' ? quote(email, 80) : `(${jsonType(email)})`} is not an e-mail address`);
      });
      out.contacts = contacts.length;
    }
  }
  if (page !== undefined) {
    const u = normaliseBaseUrl(page);
    if (!u.ok) out.problems.push(`"support_page" is not a URL: ${u.reason}`);
    else out.supportPage = typeof page === 'string' ? sanitize(page, 200) : null;
  }
  out.valid = out.problems.length === 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the consistency and compatibility checks
// ---------------------------------------------------------------------------------------------

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > 3) return Math.abs(m - n);
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let x = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) x = Math.min(x, d[i - 2]![j - 2]! + 1);
      d[i]![j] = x;
    }
  }
  return d[m]![n]!;
}

/** The same JSON document? (key order and whitespace ignored); null when either is not JSON. */
export function sameJson(a: string, b: string): boolean | null {
  const pa = parseJsonSafely(a);
  const pb = parseJsonSafely(b);
  if (!pa.ok || !pb.ok) return null;
  return stableStringify(pa.value) === stableStringify(pb.value);
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** Size of a response body on the wire (as read). */
export function bodySize(res: HttpResponseEvidence): number {
  return typeof res.bodyBytes === 'number' ? res.bodyBytes : Buffer.byteLength(res.body ?? '', 'utf8');
}
