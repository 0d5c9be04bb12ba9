/**
 * JUnit XML for CI systems: one <testsuite> per server, one <testcase> per finding. Text is cleaned,
 * access tokens are redacted (CI artefacts get shared), and characters XML 1.0 forbids are removed.
 */
import type { Finding, Report, ServerReport } from '../core/types.js';
import { clean, defaultRedact } from './clean.js';
import { stageOf } from './stages.js';

/** Characters not allowed in XML 1.0 documents (outside #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-). */
const XML_INVALID =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Remove characters XML 1.0 forbids. */
export function stripXmlInvalid(s: string): string {
  return s.replace(XML_INVALID, '');
}

/** Escape text content. */
export function xmlText(value: unknown, keepNewlines = false): string {
  return stripXmlInvalid(defaultRedact(clean(value, { keepNewlines })))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Escape an attribute value (double-quoted); line breaks have become spaces in clean(). */
export function xmlAttr(value: unknown): string {
  return stripXmlInvalid(defaultRedact(clean(value)))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function testcaseName(f: Finding): string {
  return typeof f.target === 'string' ? `${clean(f.id)} @ ${clean(f.target)}` : clean(f.id);
}

function renderTestcase(f: Finding, indent: string): string {
  const open = `${indent}<testcase classname="${xmlAttr('fedcheck.' + stageOf(String(f.id)))}" name="${xmlAttr(testcaseName(f))}"`;
  const summary = clean(f.summary);
  const hint = clean(f.hint, { keepNewlines: true });
  switch (f.status) {
    case 'fail': {
      const body = hint === '' ? summary : `${summary}\n${hint}`;
      return `${open}>\n${indent}  <failure message="${xmlAttr(summary)}" type="fail">${xmlText(body, true)}</failure>\n${indent}</testcase>`;
    }
    case 'skip':
      return `${open}>\n${indent}  <skipped message="${xmlAttr(summary)}"/>\n${indent}</testcase>`;
    default: {
      const prefix = f.status === 'warn' ? 'WARNING: ' : f.status === 'info' ? 'INFO: ' : '';
      const tail = f.status !== 'pass' && hint !== '' ? `\n${hint}` : '';
      return `${open}>\n${indent}  <system-out>${xmlText(prefix + summary + tail, true)}</system-out>\n${indent}</testcase>`;
    }
  }
}

function suiteCounts(checks: Finding[]): { tests: number; failures: number; skipped: number } {
  return {
    tests: checks.length,
    failures: checks.filter((c) => c.status === 'fail').length,
    skipped: checks.filter((c) => c.status === 'skip').length,
  };
}

function renderProperties(server: ServerReport, indent: string): string[] {
  const r = server.resolution;
  const props: Array<[string, unknown]> = [];
  if (server.input !== undefined) props.push(['input', server.input]);
  if (r && typeof r === 'object') {
    props.push(['resolution.method', r.method]);
    props.push(['resolution.delegatedServerName', r.delegatedServerName ?? '']);
    props.push(['resolution.hostHeader', r.hostHeader]);
    props.push(['resolution.tlsServerName', r.tlsServerName ?? '']);
    const targets = Array.isArray(r.targets) ? r.targets : [];
    targets.forEach((t, i) => {
      const host = clean(t.host);
      const hp = host.includes(':') ? `[${host}]:${clean(t.port)}` : `${host}:${clean(t.port)}`;
      const addrs = Array.isArray(t.addresses) ? t.addresses.map((a) => clean(a)).join(' ') : '';
      props.push([`resolution.target.${i + 1}`, `${hp} ${addrs}`.trim()]);
    });
  } else {
    props.push(['resolution', 'incomplete']);
  }
  return [
    `${indent}<properties>`,
    ...props.map(([n, v]) => `${indent}  <property name="${xmlAttr(n)}" value="${xmlAttr(v)}"/>`),
    `${indent}</properties>`,
  ];
}

export function renderJunit(report: Report): string {
  const servers = Array.isArray(report.servers) ? report.servers : [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  const suites: string[] = [];
  for (const server of servers) {
    const checks = Array.isArray(server.checks) ? server.checks : [];
    const c = suiteCounts(checks);
    tests += c.tests;
    failures += c.failures;
    skipped += c.skipped;
    const time =
      typeof server.durationMs === 'number' && Number.isFinite(server.durationMs)
        ? ` time="${(server.durationMs / 1000).toFixed(3)}"`
        : '';
    const stamp = report.generatedAt ? ` timestamp="${xmlAttr(report.generatedAt)}"` : '';
    suites.push(
      [
        `  <testsuite name="${xmlAttr(server.serverName)}" tests="${c.tests}" failures="${c.failures}" errors="0" skipped="${c.skipped}"${time}${stamp}>`,
        ...renderProperties(server, '    '),
        ...checks.map((f) => renderTestcase(f, '    ')),
        '  </testsuite>',
      ].join('\n'),
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="fedcheck" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
