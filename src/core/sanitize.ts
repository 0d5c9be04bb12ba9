/**
 * Make text that a remote server sent safe to print on a terminal (or in a log, a JUnit file, a
 * Markdown table...). A hostile or broken server controls well-known bodies, headers, version
 * strings and certificate names; printed raw they could move the cursor, rewrite earlier lines,
 * set the window title, inject hyperlinks (OSC 8), or reorder text with bidi overrides so that a
 * warning reads as a pass.
 *
 * Policy:
 *  - ANSI escape sequences (CSI `ESC [ ... final`, 8-bit CSI U+009B, OSC `ESC ] ... BEL|ST`,
 *    DCS/SOS/PM/APC strings `ESC P|X|^|_ ... ST`, and two/three-byte `ESC x` sequences) are removed
 *    entirely: they carry no text a reader needs.
 *  - An escape sequence that never terminates (e.g. an OSC with no BEL/ST) is NOT swallowed to the
 *    end of the string; its ESC is shown as `\x1b` and the rest is kept as (escaped) text, so nothing
 *    is silently hidden and nothing after it can be captured by the terminal.
 *  - Every other control character becomes a visible escape: `\n`, `\r`, `\t` for the usual three,
 *    `\xNN` for other C0/C1 controls and DEL, `\uNNNN` for U+2028/2029, bidi embeddings/overrides
 *    and isolates (U+202A-202E, U+2066-2069), bidi marks (U+200E/200F, U+061C), zero-width space
 *    (U+200B), the BOM/ZWNBSP (U+FEFF) and lone UTF-16 surrogates. ZWJ/ZWNJ (U+200C/D) are kept:
 *    they are needed by emoji sequences and several scripts and cannot reorder or hide text.
 *  - Backslashes are NOT doubled: the output is for humans, and doubling would make Windows paths
 *    and regexes in server replies harder to read. (A literal `\x1b` typed by the server therefore
 *    looks the same as an escaped ESC; that is harmless for display.)
 *  - Output longer than `maxLen` characters (code points) is cut at `maxLen`, never inside an
 *    escape or a surrogate pair, and followed by `… (N characters in all)` where N is the
 *    length of the ORIGINAL text in code points. The note is not counted in `maxLen`.
 */

const ESC = 0x1b;
const BEL = 0x07;

/** true for code points we never print raw (the escape set described above). */
export function isUnsafeCodePoint(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x200b ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x061c ||
    cp === 0xfeff ||
    (cp >= 0xd800 && cp <= 0xdfff) // only reachable for LONE surrogates (see codePointAt use)
  );
}

/** The visible escape for one unsafe code point. */
export function escapeCodePoint(cp: number): string {
  if (cp === 0x0a) return '\\n';
  if (cp === 0x0d) return '\\r';
  if (cp === 0x09) return '\\t';
  if (cp <= 0xff) return '\\x' + cp.toString(16).padStart(2, '0');
  return '\\u' + cp.toString(16).padStart(4, '0');
}

/**
 * Length of the escape sequence starting at `i` (text[i] is ESC or an 8-bit C1 introducer), or 0
 * when it is not a complete sequence (the caller then escapes the introducer visibly).
 */
function escapeSequenceLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  const n = text.length;
  let kind: 'csi' | 'string' | null = null;
  let j: number;
  if (c === 0x9b) {
    kind = 'csi';
    j = i + 1;
  } else if (c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) {
    kind = 'string'; // 8-bit OSC, DCS, SOS, PM, APC
    j = i + 1;
  } else {
    // c === ESC
    if (i + 1 >= n) return 0;
    const d = text.charCodeAt(i + 1);
    if (d === 0x5b /* [ */) {
      kind = 'csi';
      j = i + 2;
    } else if (d === 0x5d /* ] */ || d === 0x50 /* P */ || d === 0x58 /* X */ || d === 0x5e /* ^ */ || d === 0x5f /* _ */) {
      kind = 'string';
      j = i + 2;
    } else if (d >= 0x20 && d <= 0x2f) {
      // nF: ESC, intermediates 0x20-0x2F, final 0x30-0x7E (e.g. ESC ( B charset selection)
      let k = i + 1;
      while (k < n && text.charCodeAt(k) >= 0x20 && text.charCodeAt(k) <= 0x2f) k++;
      if (k < n && text.charCodeAt(k) >= 0x30 && text.charCodeAt(k) <= 0x7e) return k + 1 - i;
      return 0;
    } else if (d >= 0x30 && d <= 0x7e) {
      return 2; // Fp / Fe / Fs: ESC 7, ESC c (full reset!), ESC M ...
    } else {
      return 0;
    }
  }
  if (kind === 'csi') {
    // parameters 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E
    let k = j;
    while (k < n && text.charCodeAt(k) >= 0x30 && text.charCodeAt(k) <= 0x3f) k++;
    while (k < n && text.charCodeAt(k) >= 0x20 && text.charCodeAt(k) <= 0x2f) k++;
    if (k < n && text.charCodeAt(k) >= 0x40 && text.charCodeAt(k) <= 0x7e) return k + 1 - i;
    return 0;
  }
  // control string: ends at BEL (accepted by xterm for OSC), ESC \ (ST) or 8-bit ST U+009C
  for (let k = j; k < n; k++) {
    const e = text.charCodeAt(k);
    if (e === BEL || e === 0x9c) return k + 1 - i;
    if (e === ESC) {
      if (k + 1 < n && text.charCodeAt(k + 1) === 0x5c /* \ */) return k + 2 - i;
      return 0; // a new ESC inside the string: treat the string as unterminated
    }
  }
  return 0;
}

interface Sanitized {
  text: string;
  truncated: boolean;
  /** length of the original in code points (only computed when truncated) */
  originalLength: number;
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

export interface SanitizeOptions {
  /**
   * Show escape sequences as visible text (`\x1b[31m`) instead of removing them. For messages
   * whose subject is the raw value itself (e.g. "the server name contains \x1b at position 1").
   */
  showEscapeSequences?: boolean;
}

function sanitizeCore(input: unknown, maxLen: number, opts?: SanitizeOptions): Sanitized {
  const strip = opts?.showEscapeSequences !== true;
  const text = typeof input === 'string' ? input : String(input);
  const limit = Number.isFinite(maxLen) ? Math.max(0, Math.floor(maxLen)) : Number.POSITIVE_INFINITY;
  const parts: string[] = [];
  let outLen = 0; // code points written
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (strip && (c === ESC || c === 0x9b || c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f)) {
      const len = escapeSequenceLength(text, i);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    let piece: string;
    let pieceLen: number;
    if (isUnsafeCodePoint(cp)) {
      piece = escapeCodePoint(cp);
      pieceLen = piece.length;
    } else {
      piece = width === 2 ? text.slice(i, i + 2) : text[i] as string;
      pieceLen = 1;
    }
    if (outLen + pieceLen > limit) {
      return { text: parts.join(''), truncated: true, originalLength: countCodePoints(text) };
    }
    parts.push(piece);
    outLen += pieceLen;
    i += width;
  }
  return { text: parts.join(''), truncated: false, originalLength: 0 };
}

/**
 * Printable, single-line, length-bounded rendering of untrusted text (see the module comment).
 * Never throws; non-strings are converted with String().
 */
export function sanitize(text: string, maxLen = 300, opts?: SanitizeOptions): string {
  try {
    const s = sanitizeCore(text, maxLen, opts);
    return s.truncated ? `${s.text}… (${s.originalLength} characters in all)` : s.text;
  } catch {
    return '(unprintable value)';
  }
}

/**
 * `sanitize(text)` in double quotes, for summaries: `m.server is "https://x"`. Embedded double
 * quotes are escaped as `\"` so the quoted extent stays unambiguous; the truncation note, if
 * any, goes after the closing quote.
 */
export function quote(text: string, maxLen = 300, opts?: SanitizeOptions): string {
  try {
    const s = sanitizeCore(text, maxLen, opts);
    const body = s.text.replace(/"/g, '\\"');
    return s.truncated ? `"${body}…" (${s.originalLength} characters in all)` : `"${body}"`;
  } catch {
    return '(unprintable value)';
  }
}
