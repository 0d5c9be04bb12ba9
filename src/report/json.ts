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

/** The report as 2-space-indented JSON with a trailing newline. The data is not altered. */
export function renderJson(report: Report): string {
  const json = JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2);
  return escapeRiskyJson(json ?? 'null') + '\n';
}
