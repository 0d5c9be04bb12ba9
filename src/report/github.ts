/**
 * GitHub Actions workflow commands: an ::error annotation per failed check and a ::warning per
 * warning, escaped per the workflow-command rules so report text cannot start a command of its own.
 * CI logs are often public, so access tokens are redacted (defaultRedact).
 */
import type { Finding, Report } from '../core/types.js';
import { clean, defaultRedact } from './clean.js';

/** Escape the message part of a workflow command: % CR LF. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escape a property value of a workflow command: % CR LF : , */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function annotation(kind: 'error' | 'warning', server: string, f: Finding): string {
  const title = escapeProperty(`fedcheck ${clean(f.id)}`);
  const where = typeof f.target === 'string' && f.target !== '' ? `${clean(server)} ${clean(f.target)}` : clean(server);
  const hint = clean(f.hint, { keepNewlines: true }).trim();
  const message = `${where}: ${clean(f.summary)}${hint !== '' ? ` — ${hint}` : ''}`;
  return `::${kind} title=${title}::${escapeData(defaultRedact(message))}`;
}

/** One line per fail (::error) and warn (::warning), in report order; '' when there are none. */
export function renderGithubAnnotations(report: Report): string {
  const lines: string[] = [];
  const servers = Array.isArray(report.servers) ? report.servers : [];
  for (const server of servers) {
    const checks = Array.isArray(server.checks) ? server.checks : [];
    for (const f of checks) {
      if (f.status === 'fail') lines.push(annotation('error', server.serverName, f));
      else if (f.status === 'warn') lines.push(annotation('warning', server.serverName, f));
    }
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
