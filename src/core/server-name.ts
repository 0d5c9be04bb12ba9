/**
 * Matrix server-name grammar (spec §3.1) with the strictness of the implementations' validators
 * (spec §3.2), turned into messages a person can act on.
 *
 *   server_name = hostname [ ":" port ]
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name
 *   port        = 1*5DIGIT
 *
 * Pure and total: nothing here throws, whatever it is given.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { quote as quoteRaw, sanitize as sanitizeRaw } from './sanitize.js';

// Messages here are about the value itself, so escape sequences are shown (\x1b[31m), not removed.
const SHOW = { showEscapeSequences: true } as const;
const quote = (text: string, maxLen = 300): string => quoteRaw(text, maxLen, SHOW);
const sanitize = (text: string, maxLen = 300): string => sanitizeRaw(text, maxLen, SHOW);

export type HostKind = 'dns' | 'ipv4' | 'ipv6';

export interface ParsedServerName {
  /** as given */
  input: string;
  /** normalised form used from here on (punycode if the input was Unicode) */
  serverName: string;
  /** hostname, IPv4 literal, or IPv6 WITHOUT brackets */
  host: string;
  hostKind: HostKind;
  port: number | null;
  /** set when a Unicode (IDN) name was converted to punycode (whole server name, port included) */
  converted?: { from: string; to: string };
  warnings: string[];
}

export interface ServerNameError {
  error: string;
}

/** spec §3.1: recommended maximum length of a whole server name */
export const RECOMMENDED_MAX_SERVER_NAME_LENGTH = 230;
const MAX_DNS_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

export function isServerNameError(x: ParsedServerName | ServerNameError): x is ServerNameError {
  return typeof (x as ServerNameError).error === 'string';
}

/** `host` (IPv6 without brackets) and an optional port as they appear in a server name / Host header. */
export function formatHostPort(host: string, hostKind: HostKind, port: number | null): string {
  const h = hostKind === 'ipv6' && !host.startsWith('[') ? `[${host}]` : host;
  return port === null || port === undefined ? h : `${h}:${port}`;
}

/** IPv4 or IPv6 literal; IPv6 may be given with or without brackets. */
export function isIpLiteral(host: string): boolean {
  if (typeof host !== 'string') return false;
  if (host.startsWith('[') && host.endsWith(']')) return isIPv6(host.slice(1, -1)) && !host.includes('%');
  return isIPv4(host) || (isIPv6(host) && !host.includes('%'));
}

// ---------------------------------------------------------------------------------------------

/** Control characters and the invisible/reordering characters sanitize() escapes. */
function findControl(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 ||
        (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
        c === 0x200b || c === 0x200e || c === 0x200f || c === 0x061c || c === 0xfeff) {
      return i;
    }
  }
  return -1;
}

const WHITESPACE = /[\s\u180e\u200b]/u;

function describeChar(ch: string): string {
  if (ch === '_') return "'_' (underscore)";
  if (ch === ' ') return 'a space';
  const cp = ch.codePointAt(0) ?? 0;
  if (cp > 0x20 && cp < 0x7f) return `'${ch}'`;
  return `${quote(ch, 10)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

function err(error: string): ServerNameError {
  return { error };
}

/** The URL-ish authority of `scheme://authority/...`, for a "did you mean" suggestion. */
function authorityOf(afterScheme: string): string {
  let a = afterScheme;
  const cut = a.search(/[/?#]/);
  if (cut >= 0) a = a.slice(0, cut);
  const at = a.lastIndexOf('@');
  if (at >= 0) a = a.slice(at + 1);
  return a;
}

interface Split {
  hostPart: string;
  bracketed: boolean;
  portText: string | null;
}

function splitHostPort(s: string): Split | ServerNameError {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) {
      return err(`unbalanced bracket: ${quote(s)} opens '[' but never closes it with ']'`);
    }
    const inside = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (inside.includes('[')) return err(`unbalanced brackets in ${quote(s)}: '[' appears twice`);
    if (rest.includes('[') || rest.includes(']')) {
      return err(`unbalanced brackets in ${quote(s)}: only one "[IPv6]" pair is allowed`);
    }
    if (rest === '') return { hostPart: inside, bracketed: true, portText: null };
    if (!rest.startsWith(':')) {
      return err(`unexpected ${quote(rest)} after the ']' of an IPv6 address; only ":port" may follow it`);
    }
    return { hostPart: inside, bracketed: true, portText: rest.slice(1) };
  }
  if (s.includes('[')) {
    return err(`misplaced '[' in ${quote(s)}: brackets may only surround a whole IPv6 address, as in "[2001:db8::1]:8448"`);
  }
  if (s.includes(']')) {
    return err(`unbalanced bracket: ${quote(s)} has a ']' without a matching '['`);
  }
  const first = s.indexOf(':');
  if (first < 0) return { hostPart: s, bracketed: false, portText: null };
  if (s.indexOf(':', first + 1) >= 0) {
    if (isIPv6(s) && !s.includes('%')) {
      return err(`IPv6 address ${quote(s)} must be written in brackets: "[${s}]" (add ":port" after the ']' if needed)`);
    }
    const lastColon = s.lastIndexOf(':');
    const maybe6 = s.slice(0, lastColon);
    if (isIPv6(maybe6) && /^\d+$/.test(s.slice(lastColon + 1))) {
      return err(`too many ':' in ${quote(s)}: an IPv6 address must be written in brackets, e.g. "[${maybe6}]:${s.slice(lastColon + 1)}"`);
    }
    return err(`too many ':' in ${quote(s)}: only one ':' (before the port) is allowed; an IPv6 address must be in brackets, e.g. "[2001:db8::1]:8448"`);
  }
  return { hostPart: s.slice(0, first), bracketed: false, portText: s.slice(first + 1) };
}

function parsePort(portText: string, warnings: string[]): number | ServerNameError {
  if (portText === '') return err('the port after ":" is empty (remove the ":" or give a port 1-65535)');
  if (!/^[0-9]+$/.test(portText)) {
    return err(`port ${quote(portText, 40)} is not a number (a port is 1-5 digits, 1-65535)`);
  }
  const value = Number(portText);
  if (portText.length > 5) {
    // grammar: port = 1*5DIGIT
    if (value === 0 || value > 65535) return err(`port ${sanitize(portText, 40)} is out of range (1-65535)`);
    return err(`port ${quote(portText, 40)} has more than 5 digits (remove the leading zeros)`);
  }
  if (value > 65535) return err(`port ${portText} is out of range (1-65535)`);
  // The grammar (1*5DIGIT) and the implementations' u16 parsers accept 0, but port 0 means "any
  // free port" to a socket API: no server can listen on it and no connection can be made to it.
  if (value === 0) return err(`port ${portText} is not usable: no server can listen on port 0 (use 1-65535)`);
  if (portText.length > 1 && portText.startsWith('0')) {
    warnings.push(
      `port ${quote(portText)} has leading zeros; server names are compared as strings, so it names a different server than ":${value}", and it is sent verbatim in the Host header`,
    );
  }
  return value;
}

function validateIpv6(inside: string, whole: string): ServerNameError | null {
  if (inside === '') return err(`empty brackets in ${quote(whole)}: "[]" holds no IPv6 address`);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(inside)) {
    return err(`${quote(`[${inside}]`)} puts an IPv4 address in brackets; brackets are only for IPv6 — write "${inside}"`);
  }
  const zone = inside.indexOf('%');
  if (zone >= 0) {
    return err(`IPv6 zone identifiers ("%${sanitize(inside.slice(zone + 1), 30)}") are not allowed in a server name`);
  }
  if (!/^[0-9A-Fa-f:.]+$/.test(inside)) {
    const bad = [...inside].find((ch) => !/[0-9A-Fa-f:.]/.test(ch)) ?? '?';
    return err(`${quote(`[${inside}]`)} is not a valid IPv6 address: it contains ${describeChar(bad)}`);
  }
  if (inside.length < 2 || inside.length > 45 || !isIPv6(inside)) {
    return err(`${quote(`[${inside}]`)} is not a valid IPv6 address`);
  }
  return null;
}

const DNS_CHAR = /^[A-Za-z0-9.-]$/;

function validateDnsName(host: string, portSuffix: string): ServerNameError | null {
  if (host === '') {
    return err(portSuffix ? `the host name before ${quote(portSuffix)} is empty` : 'the host name is empty');
  }
  for (const ch of host) {
    if (!DNS_CHAR.test(ch)) {
      const pos = host.indexOf(ch) + 1;
      return err(
        `host name ${quote(host, 80)} contains ${describeChar(ch)} at position ${pos}; server names may only contain letters, digits, '-' and '.'`,
      );
    }
  }
  if (host.length > MAX_DNS_NAME_LENGTH) {
    return err(`host name is ${host.length} characters long; the maximum is ${MAX_DNS_NAME_LENGTH}`);
  }
  if (host.startsWith('.')) return err(`host name ${quote(host, 80)} starts with '.' (empty first label)`);
  if (host.endsWith('.')) {
    // A fully-qualified "example.com." resolves the same in DNS, but Matrix server names are
    // compared as strings, and every implementation's validator would have to agree on it: reject.
    return err(
      `host name ${quote(host, 80)} ends with '.'; write ${quote(host.replace(/\.+$/, ''), 80)} without the trailing dot (server names are compared as strings, so the dot would make it a different server name)`,
    );
  }
  if (host.includes('..')) return err(`host name ${quote(host, 80)} contains an empty label ('..')`);
  const labels = host.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL_LENGTH) {
      return err(`label ${quote(label, 80)} is ${label.length} characters long; DNS labels are at most ${MAX_LABEL_LENGTH}`);
    }
  }
  const last = labels[labels.length - 1] as string;
  if (/^[0-9]+$/.test(last)) {
    // Not an IPv4 dotted quad (handled before), yet all-numeric at the top: resolvers
    // (inet_aton/getaddrinfo) read "127.1" or "1234" as an IP address, never as a name, and
    // RFC 1123 §2.1 rules out numeric top-level labels.
    if (/^[0-9]+(\.[0-9]+)*$/.test(host)) {
      return err(
        `${quote(host, 80)} is neither a valid IPv4 address (four numbers 0-255 separated by dots) nor a host name (a host name's last label cannot be all digits)`,
      );
    }
    return err(`host name ${quote(host, 80)} ends in an all-numeric label ${quote(last)}; a top-level label cannot be all digits`);
  }
  return null;
}

function dnsWarnings(host: string, warnings: string[]): void {
  for (const label of host.split('.')) {
    if (label.startsWith('-') || label.endsWith('-')) {
      warnings.push(
        `label ${quote(label)} starts or ends with '-'; the Matrix grammar allows it, but it is not a valid DNS host name and certificates and resolvers may reject it`,
      );
      break;
    }
  }
}

function ipv4Parts(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

function commonWarnings(serverName: string, warnings: string[]): void {
  if (/[A-Z]/.test(serverName)) {
    warnings.push(
      `${quote(serverName, 80)} contains upper-case letters; server names are compared case-sensitively and the spec recommends lower case (${quote(serverName.toLowerCase(), 80)})`,
    );
  }
  if (serverName.length > RECOMMENDED_MAX_SERVER_NAME_LENGTH) {
    warnings.push(
      `server name is ${serverName.length} characters long; the spec recommends at most ${RECOMMENDED_MAX_SERVER_NAME_LENGTH}`,
    );
  }
}

/**
 * Parse and validate a server name as a user typed it (spec §3.1). Unicode host names are
 * converted to punycode (`converted` is set). Never throws.
 */
export function parseServerName(input: string): ParsedServerName | ServerNameError {
  try {
    return parseServerNameInner(input);
  } catch (e) {
    // defensive: nothing above should throw; keep the contract anyway
    return err(`could not parse the server name (${sanitize(String(e), 100)})`);
  }
}

function parseServerNameInner(input: string): ParsedServerName | ServerNameError {
  if (typeof input !== 'string') return err(`a server name must be a string, not ${input === null ? 'null' : typeof input}`);
  if (input === '') return err('the server name is empty');

  // URLs: "https://example.com/" -> suggest the authority
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input);
  if (scheme) {
    const authority = authorityOf(input.slice(scheme[0].length));
    const suggestion = authority ? `; use ${quote(authority, 120)}` : '';
    return err(
      `${quote(input, 120)} is a URL, not a server name: leave out the "${sanitize(scheme[1] as string, 20)}://" scheme${authority !== input.slice(scheme[0].length) ? ' and the path' : ''}${suggestion}`,
    );
  }

  const ctl = findControl(input);
  if (ctl >= 0) {
    const ch = input.charCodeAt(ctl);
    const shown = sanitize(input[ctl] as string, 10);
    if ((ch === 0x0a || ch === 0x0d) && /^[\r\n]+$/.test(input.slice(ctl))) {
      return err(`the server name ends with a line break (${sanitize(input.slice(ctl), 10)}); remove it`);
    }
    return err(`the server name contains a control or invisible character (${shown}) at position ${ctl + 1}`);
  }

  const ws = WHITESPACE.exec(input);
  if (ws) {
    const pos = ws.index;
    if (input.trim() !== input) {
      return err(`the server name has leading or trailing whitespace; use ${quote(input.trim(), 120)}`);
    }
    return err(`the server name contains whitespace (${describeChar(ws[0])}) at position ${pos + 1}`);
  }

  // user IDs, e-mail-like input and paths
  if (input.startsWith('@')) {
    const colon = input.indexOf(':');
    const rest = colon >= 0 ? input.slice(colon + 1) : '';
    return err(
      `${quote(input, 120)} looks like a Matrix user ID; the server name is the part after the first ':'${rest ? ` (${quote(rest, 120)})` : ''}`,
    );
  }
  if (input.includes('@')) {
    return err(`the server name contains '@' at position ${input.indexOf('@') + 1}; give only the server name, e.g. "example.com"`);
  }
  const slash = input.search(/[/\\]/);
  if (slash >= 0) {
    const before = input.slice(0, slash);
    return err(
      `${quote(input, 120)} contains a path ('${input[slash]}' at position ${slash + 1}); a server name has no path${before ? `: use ${quote(before, 120)}` : ''}`,
    );
  }
  if (input.includes('%')) {
    return err(
      `the server name contains '%' at position ${input.indexOf('%') + 1}; percent-encoding and IPv6 zone identifiers are not allowed`,
    );
  }

  const split = splitHostPort(input);
  if ('error' in split) return split;
  const warnings: string[] = [];

  let port: number | null = null;
  if (split.portText !== null) {
    const p = parsePort(split.portText, warnings);
    if (typeof p !== 'number') return p;
    port = p;
  }
  const portSuffix = split.portText !== null ? `:${split.portText}` : '';

  if (split.bracketed) {
    const bad = validateIpv6(split.hostPart, input);
    if (bad) return bad;
    commonWarnings(input, warnings);
    return { input, serverName: input, host: split.hostPart, hostKind: 'ipv6', port, warnings };
  }

  let host = split.hostPart;
  let serverName = input;
  let converted: { from: string; to: string } | undefined;

  // IDN: convert Unicode host names to punycode A-labels (spec §3.1: IDNs must be punycode)
  if (/[^\x00-\x7f]/.test(host)) {
    let ascii = '';
    try {
      ascii = domainToASCII(host);
    } catch {
      ascii = '';
    }
    if (!ascii) {
      return err(`${quote(host, 120)} is not a valid internationalised domain name (it cannot be converted to punycode)`);
    }
    const bad = validateDnsName(ascii, portSuffix);
    if (bad) return err(`${quote(host, 120)} converts to ${quote(ascii, 120)}, which is not valid: ${bad.error}`);
    serverName = ascii + portSuffix;
    converted = { from: input, to: serverName };
    host = ascii;
    warnings.push(
      `${quote(input, 120)} is not ASCII; it was converted to ${quote(serverName, 120)} — Matrix server names must be written in punycode (homeservers compare and send the ASCII form)`,
    );
  }

  const v4 = ipv4Parts(host);
  if (v4) {
    const bad = v4.find((x) => x > 255);
    if (bad !== undefined) {
      return err(`IPv4 address ${quote(host)} is invalid: ${bad} is out of range (each part is 0-255)`);
    }
    const normal = v4.join('.');
    if (normal !== host) {
      warnings.push(
        `IPv4 address ${quote(host)} has leading zeros; some software reads them as octal (010 = 8) — write "${normal}"`,
      );
    }
    commonWarnings(serverName, warnings);
    const out: ParsedServerName = { input, serverName, host: normal, hostKind: 'ipv4', port, warnings };
    if (converted) out.converted = converted;
    return out;
  }

  const bad = validateDnsName(host, portSuffix);
  if (bad) return bad;
  dnsWarnings(host, warnings);
  if (/(^|\.)xn--/i.test(host) && !converted) {
    let ok = '';
    try {
      ok = domainToASCII(host);
    } catch {
      ok = '';
    }
    if (!ok) {
      warnings.push(`${quote(host, 120)} has an "xn--" label that is not valid punycode; resolvers and certificate checks may reject it`);
    }
  }
  commonWarnings(serverName, warnings);
  const out: ParsedServerName = { input, serverName, host, hostKind: 'dns', port, warnings };
  if (converted) out.converted = converted;
  return out;
}

// ---------------------------------------------------------------------------------------------
// m.server (the delegated server name from /.well-known/matrix/server)
// ---------------------------------------------------------------------------------------------

export type DelegatedNameProblem =
  | 'not-string'
  | 'empty'
  | 'scheme'
  | 'path'
  | 'control-chars'
  | 'whitespace'
  | 'non-ascii'
  | 'grammar';

export type DelegatedServerNameResult =
  | { valid: true; raw: string; parsed: ParsedServerName }
  | {
      valid: false;
      /** the value exactly as found in the JSON (may be any JSON type); sanitize before printing */
      raw: unknown;
      problem: DelegatedNameProblem;
      /** one sentence for a homeserver admin; safe to print (no raw control characters) */
      reason: string;
      /** a corrected value, when one can be guessed (e.g. "matrix.example.com:443" for a URL) */
      suggestion?: string;
    };

function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return `a number (${sanitize(String(v), 40)})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  if (v === undefined) return 'missing';
  return typeof v;
}

/**
 * Validate an `m.server` value (spec §1 step 3: same grammar as a server name, and — unlike user
 * input — no IDN conversion: Synapse requires ASCII). Implementations differ on invalid values
 * (spec §6): Synapse uses any ASCII string verbatim, gomatrixserverlib fails the whole resolution,
 * conduwuit ignores the well-known and falls back. `raw` keeps the value for that comparison.
 */
export function parseDelegatedServerName(value: unknown): DelegatedServerNameResult {
  try {
    return parseDelegatedInner(value);
  } catch {
    return { valid: false, raw: value, problem: 'grammar', reason: 'm.server could not be parsed' };
  }
}

function parseDelegatedInner(value: unknown): DelegatedServerNameResult {
  const bad = (problem: DelegatedNameProblem, reason: string, suggestion?: string): DelegatedServerNameResult => {
    const r: DelegatedServerNameResult = { valid: false, raw: value, problem, reason };
    if (suggestion !== undefined) r.suggestion = suggestion;
    return r;
  };
  if (typeof value !== 'string') {
    return bad('not-string', `m.server must be a string such as "matrix.example.com:443", but it is ${jsonTypeName(value)}`);
  }
  if (value === '') {
    return bad('empty', 'm.server is an empty string; give the delegated server name, e.g. "matrix.example.com:443", or remove the file');
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (scheme) {
    const authority = authorityOf(value.slice(scheme[0].length));
    let suggestion: string | undefined;
    const parsedAuthority = authority ? parseServerName(authority) : null;
    if (parsedAuthority && !('error' in parsedAuthority) && parsedAuthority.converted === undefined) {
      const s = (scheme[1] as string).toLowerCase();
      // An https URL implies port 443; without a port, m.server would mean SRV or port 8448.
      if (parsedAuthority.port === null && s === 'https') suggestion = `${authority}:443`;
      else if (parsedAuthority.port === null && s === 'http') suggestion = `${authority}:80`;
      else suggestion = authority;
    }
    return bad(
      'scheme',
      `m.server must be a server name (host[:port]), not a URL: ${quote(value, 120)} starts with "${sanitize(scheme[1] as string, 20)}://"${suggestion ? `; use ${quote(suggestion)}` : ''}`,
      suggestion,
    );
  }
  const ctl = findControl(value);
  if (ctl >= 0) {
    const cleaned = value.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\u061c\ufeff]/g, '');
    const what = /[\r\n]/.test(value) ? 'a line break' : 'a control or invisible character';
    return bad(
      'control-chars',
      `m.server contains ${what} (${sanitize(value[ctl] as string, 10)} at position ${ctl + 1}): ${quote(value, 120)}`,
      cleaned && !('error' in parseServerName(cleaned)) ? cleaned : undefined,
    );
  }
  if (WHITESPACE.test(value)) {
    const trimmed = value.trim();
    return bad(
      'whitespace',
      `m.server contains whitespace: ${quote(value, 120)}`,
      trimmed !== value && !('error' in parseServerName(trimmed)) ? trimmed : undefined,
    );
  }
  if (/[^\x00-\x7f]/.test(value)) {
    const p = parseServerName(value);
    const suggestion = !('error' in p) ? p.serverName : undefined;
    return bad(
      'non-ascii',
      `m.server contains non-ASCII characters (${quote(value, 120)}); write internationalised names in punycode${suggestion ? `: ${quote(suggestion, 120)}` : ''} — Synapse rejects non-ASCII values`,
      suggestion,
    );
  }
  const slash = value.search(/[/?#\\]/);
  if (slash >= 0) {
    const before = value.slice(0, slash);
    const ok = before && !('error' in parseServerName(before));
    return bad(
      'path',
      `m.server must be just host[:port] with no path or query: ${quote(value, 120)}${ok ? `; use ${quote(before, 120)}` : ''}`,
      ok ? before : undefined,
    );
  }
  const p = parseServerName(value);
  if ('error' in p) {
    return bad('grammar', `m.server ${quote(value, 120)} is not a valid server name: ${p.error}`);
  }
  return { valid: true, raw: value, parsed: p };
}
