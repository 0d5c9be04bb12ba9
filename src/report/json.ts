/** The machine-readable report (CONTRACT.md "JSON report", schema in docs/report.schema.json). */
import type { Report } from '../core/types.js';

/**
 * Characters JSON.stringify leaves raw that a terminal or editor may still act on: DEL, C1
 * controls (U+009B is a CSI), line/paragraph separators and bidi overrides. They only ever occur
 * inside JSON strings, so escaping them as \uXXXX keeps the document identical in meaning.
 */
const RISKY = /[\u007F-\u009F\u061C\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** Escape the risky characters of RISKY in a JSON text (meaning unchanged). */
export function escapeRiskyJson(json: string): string {
  return json.replace(RISKY, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** The report as 2-space-indented JSON with a trailing newline. The data is not altered. */
export function renderJson(report: Report): string {
  return [...renderJsonChunks(report)].join('');
}

/**
 * The same text as {@link renderJson}, in pieces: the document's head, then one piece per server,
 * then the tail. A batch of 1,000 names makes a report of tens of MB; written piece by piece (with
 * {@link writeJson}) it never exists whole in memory, nor in escaped and encoded copies of itself.
 */
export function* renderJsonChunks(report: Report): Generator<string> {
  const keys = Object.keys(report) as Array<keyof Report>;
  if (!Array.isArray(report.servers) || report.servers.length === 0 || keys.some((k) => ['undefined', 'function', 'symbol'].includes(typeof report[k]))) {
    yield escapeRiskyJson(JSON.stringify(report, replacer, 2) ?? 'null') + '\n';
    return;
  }
  // JSON.stringify(report, null, 2), member by member: top-level members are indented by 2 and
  // each server, an element of a top-level array, by 4. A JSON text has no raw line breaks
  // inside strings, so indenting after every "\n" is exact.
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i === 0 ? '' : ','}\n  ${JSON.stringify(k)}: `;
    if (k !== 'servers') {
      out += (JSON.stringify(report[k], replacer, 2) ?? 'null').replace(/\n/g, '\n  ');
      continue;
    }
    out += '[';
    for (let j = 0; j < report.servers.length; j++) {
      out += `${j === 0 ? '' : ','}\n    ${(JSON.stringify(report.servers[j], replacer, 2) ?? 'null').replace(/\n/g, '\n    ')}`;
      yield escapeRiskyJson(out);
      out = '';
    }
    out += '\n  ]';
  }
  yield escapeRiskyJson(out + '\n}') + '\n';
}

/** Write the JSON report to a stream piece by piece, waiting for it to drain in between. */
export async function writeJson(report: Report, stream: NodeJS.WritableStream): Promise<void> {
  for (const chunk of renderJsonChunks(report)) {
    if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
  }
}
