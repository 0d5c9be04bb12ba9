/** Colour decisions and ANSI colouring for the text renderer. No library: the codes are few. */

/**
 * Whether to colour output written to `stream`.
 * Order: an explicit `flag` (--color → true, --no-color → false) wins; then NO_COLOR (any
 * non-empty value) → false; then FORCE_COLOR ('0' or 'false' → false, any other non-empty value →
 * true); else colour exactly when the stream is a TTY.
 */
export function shouldColour(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
  flag?: boolean,
): boolean {
  if (typeof flag === 'boolean') return flag;
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') {
    const f = force.trim().toLowerCase();
    return !(f === '0' || f === 'false');
  }
  return stream.isTTY === true;
}

export type PaintFn = (s: string) => string;

export interface Paint {
  enabled: boolean;
  green: PaintFn;
  red: PaintFn;
  yellow: PaintFn;
  cyan: PaintFn;
  dim: PaintFn;
  bold: PaintFn;
}

const ESC = '\u001b[';

function sgr(open: number, close: number): PaintFn {
  return (s) => (s === '' ? s : `${ESC}${open}m${s}${ESC}${close}m`);
}

const identity: PaintFn = (s) => s;

/** Colour functions; all of them are the identity when `enabled` is false. */
export function paint(enabled: boolean): Paint {
  if (!enabled) {
    return { enabled: false, green: identity, red: identity, yellow: identity, cyan: identity, dim: identity, bold: identity };
  }
  return {
    enabled: true,
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}
