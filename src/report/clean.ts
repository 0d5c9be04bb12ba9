/**
 * Neutralise untrusted text before it reaches a terminal or a document. Everything a renderer
 * prints that came from a report (server names, summaries, hints, targets, even check ids) goes
 * through `clean()`: remote servers choose much of that text, and a status line must not be able
 * to move the cursor, recolour the terminal, rewrite earlier lines or reorder text.
 */

export interface CleanOptions {
  /** keep line breaks (normalised to "\n"); otherwise every line break becomes a space */
  keepNewlines?: boolean;
}

/** C0 controls except TAB/LF/VT/FF/CR, DEL, and C1 controls except NEL (U+0085). */
const DROP = /[\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]/g;
/** Bidirectional embeddings/overrides/isolates and the Arabic letter mark ("Trojan Source"). */
const BIDI = /[\u061C\u202A-\u202E\u2066-\u2069]/g;
/** Anything that ends a line: CRLF, CR, LF, VT, FF, NEL, LINE/PARAGRAPH SEPARATOR. */
const LINE_BREAK = /\r\n|[\r\n\u000B\u000C\u0085\u2028\u2029]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Return `value` as a string without terminal/formatting controls: ESC and every other C0/C1
 * control character is removed, tabs become a space, line breaks become a space (or "\n" with
 * `keepNewlines`), bidi override characters are removed and unpaired surrogates become U+FFFD.
 * Non-strings are converted with String(); null/undefined give ''.
 */
export function clean(value: unknown, options: CleanOptions = {}): string {
  if (value === undefined || value === null) return '';
  let s: string;
  try {
    s = typeof value === 'string' ? value : String(value);
  } catch {
    return '';
  }
  return s
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(LINE_BREAK, options.keepNewlines ? '\n' : ' ')
    .replace(/\t/g, ' ')
    .replace(DROP, '')
    .replace(BIDI, '');
}

/**
 * Approximate terminal display width of cleaned text: East Asian wide/fullwidth characters and
 * emoji count 2, combining marks 0, everything else 1. It errs on the wide side, which only makes
 * the renderers wrap a little early.
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  if (cp <= 0x36f) return 0; // combining diacritical marks
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    cp === 0x2329 ||
    cp === 0x232a ||
    (cp >= 0x231a && cp <= 0x23ff) ||
    (cp >= 0x2600 && cp <= 0x27bf) ||
    (cp >= 0x2b00 && cp <= 0x2bff) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1b000 && cp <= 0x1b2ff) ||
    (cp >= 0x1f000 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/**
 * Word-wrap cleaned text to `width` display columns. Existing "\n" are kept; words longer than
 * `width` are broken (nothing is ever dropped or truncated). Returns the lines.
 */
export function wrapText(text: string, width: number): string[] {
  const max = Math.max(1, Math.floor(width));
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    const words = paragraph.split(' ').filter((w) => w.length > 0);
    let line = '';
    let lineW = 0;
    for (const word of words) {
      let wordW = displayWidth(word);
      if (lineW > 0 && lineW + 1 + wordW <= max) {
        line += ' ' + word;
        lineW += 1 + wordW;
        continue;
      }
      if (lineW > 0) {
        out.push(line);
        line = '';
        lineW = 0;
      }
      let rest = word;
      while (wordW > max) {
        // hard-break an over-long word (a URL, an IPv6 address, hostile junk)
        let chunk = '';
        let chunkW = 0;
        for (const ch of rest) {
          const cw = charWidth(ch.codePointAt(0) ?? 0);
          if (chunkW + cw > max && chunk.length > 0) break;
          chunk += ch;
          chunkW += cw;
        }
        out.push(chunk);
        rest = rest.slice(chunk.length);
        wordW -= chunkW;
      }
      line = rest;
      lineW = wordW;
    }
    out.push(line);
  }
  return out;
}

const REDACTED = '[REDACTED]';

/**
 * Redact credentials that tend to end up in logs and summaries: Synapse access and refresh tokens
 * (`syt_…`, `syr_…`), MAS tokens (`mat_…`, `mar_…`), `Bearer …` credentials and
 * `access_token=…` / `"access_token": "…"` (and refresh_token) parameters. Used by the formats
 * meant to be shared: Markdown (default `redact`), GitHub annotations and JUnit.
 */
export function defaultRedact(s: string): string {
  return s
    .replace(/\b(Bearer)(\s+)[\w.~+/=-]{6,}/gi, (_m, word: string, sp: string) => `${word}${sp}${REDACTED}`)
    .replace(/\b(sy[tr]|ma[tr])_[A-Za-z0-9_=.+/-]{4,}/g, (_m, prefix: string) => `${prefix}_${REDACTED}`)
    .replace(
      /\b((?:access|refresh)_token)(["']?\s*[:=]\s*["']?)[^\s&"',;}]+/gi,
      (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`,
    );
}
