/**
 * A Markdown report to paste into a support ticket or chat. Everything taken from the report is
 * cleaned, redacted (access tokens) and escaped so that it renders as the literal text.
 */
import type { Finding, Report, ServerReport } from '../core/types.js';
import { clean, defaultRedact } from './clean.js';
import { groupByStage, stageOf, STAGE_TITLES } from './stages.js';
import { METHOD_WORDS, hostPort, lookup, serversToDetail } from './text.js';

export interface MarkdownOptions {
  /** applied to every piece of text taken from the report; default: defaultRedact */
  redact?: (s: string) => string;
  /** detail every server, even in a report of many (see serversToDetail in text.ts) */
  full?: boolean;
}

export { defaultRedact };

/** Backslash-escape Markdown syntax characters (including `|` for tables and backticks). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_[\]<>#|~&$]/g, (c) => '\\' + c);
}

const STATUS_MD: Readonly<Record<string, string>> = {
  pass: '✅ pass',
  warn: '⚠️ warn',
  fail: '❌ fail',
  skip: '⏭️ skip',
  info: 'ℹ️ info',
};

export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const redact = options.redact ?? defaultRedact;
  /** clean → redact → escape, in that order (redaction must see the raw text). */
  const t = (value: unknown): string => escapeMarkdown(redact(clean(value)));
  const servers = Array.isArray(report.servers) ? report.servers : [];
  const out: string[] = [];

  out.push('# fedcheck report', '');
  const bad = servers.filter((s) => !s.ok).length;
  const meta = [`fedcheck ${t(report.tool?.version)}`];
  if (report.generatedAt) meta.push(`generated ${t(report.generatedAt)}`);
  meta.push(
    servers.length === 0
      ? 'no servers checked'
      : bad === 0
        ? `**${servers.length === 1 ? 'federation OK' : `all ${servers.length} servers OK`}**`
        : `**${bad} of ${servers.length} server${servers.length === 1 ? '' : 's'} with problems**`,
  );
  out.push(meta.join(' · '), '');

  if (servers.length > 1) {
    out.push('| server | verdict | fail | warn |', '| --- | --- | --- | --- |');
    for (const s of servers) {
      const checks = Array.isArray(s.checks) ? s.checks : [];
      const fails = checks.filter((c) => c.status === 'fail').length;
      const warns = checks.filter((c) => c.status === 'warn').length;
      out.push(`| ${t(s.serverName)} | ${s.ok ? '✅ OK' : '❌ FAIL'} | ${fails} | ${warns} |`);
    }
    out.push('');
  }
  const { shown, note } = serversToDetail(servers, options.full === true);
  if (note) out.push(`_${escapeMarkdown(note)}_`, '');
  for (const server of shown) out.push(...renderServer(server, t));
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function renderServer(server: ServerReport, t: (v: unknown) => string): string[] {
  const out: string[] = [];
  const checks = Array.isArray(server.checks) ? server.checks : [];
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const verdict = server.ok
    ? `✅ federation OK${warns > 0 ? ` (${warns} warning${warns === 1 ? '' : 's'})` : ''}`
    : `❌ ${fails > 0 ? `${fails} problem${fails === 1 ? '' : 's'}` : 'federation NOT OK'}${warns > 0 ? `, ${warns} warning${warns === 1 ? '' : 's'}` : ''}`;
  out.push(`## ${t(server.serverName)} — ${verdict}`, '');
  if (server.input !== undefined && clean(server.input) !== clean(server.serverName)) {
    out.push(`Entered as: ${t(server.input)}`, '');
  }

  const r = server.resolution;
  if (!r || typeof r !== 'object') {
    out.push('**Resolution:** could not complete (see the discovery checks).', '');
  } else {
    const method = clean(r.method);
    const words = lookup(METHOD_WORDS, method);
    out.push('**Resolution**', '');
    out.push(`- Method: ${t(method)}${words ? ` — ${t(words)}` : ''}`);
    out.push(`- Delegated server name: ${r.delegatedServerName == null ? 'none' : t(r.delegatedServerName)}`);
    out.push(`- Host header: ${t(r.hostHeader)}`);
    out.push(`- TLS server name (SNI): ${r.tlsServerName == null ? 'none (IP certificate)' : t(r.tlsServerName)}`);
    if (r.certificateName !== undefined) out.push(`- Certificate must be valid for: ${t(r.certificateName)}`);
    const targets = Array.isArray(r.targets) ? r.targets : [];
    if (targets.length === 0) out.push('- Targets: none');
    targets.forEach((target, i) => {
      const addrs = Array.isArray(target.addresses) ? target.addresses : [];
      out.push(
        `- Target ${i + 1}: ${t(hostPort(clean(target.host), target.port))} → ${addrs.length > 0 ? addrs.map((a) => t(a)).join(', ') : 'no addresses'}`,
      );
    });
    out.push('');
  }

  if (checks.length === 0) {
    out.push('No checks ran.', '');
    return out;
  }
  out.push('| status | check | target | summary |', '| --- | --- | --- | --- |');
  const ordered: Finding[] = [];
  for (const group of groupByStage(checks)) {
    for (const f of group.findings) {
      ordered.push(f);
      out.push(
        `| ${lookup(STATUS_MD, f.status) ?? t(f.status)} | ${t(f.id)} | ${typeof f.target === 'string' ? t(f.target) : ''} | ${t(f.summary)} |`,
      );
    }
  }
  out.push('');

  const hints = ordered.filter((f) => f.status !== 'pass' && clean(f.hint).trim() !== '');
  if (hints.length > 0) {
    out.push('**How to fix**', '');
    for (const f of hints) {
      const label = `${t(f.id)}${typeof f.target === 'string' ? ` @ ${t(f.target)}` : ''}`;
      out.push(`- ${lookup(STATUS_MD, f.status) ?? t(f.status)} **${label}** (${t(STAGE_TITLES[stageOf(String(f.id))])}): ${t(clean(f.hint).trim())}`);
    }
    out.push('');
  }
  return out;
}

