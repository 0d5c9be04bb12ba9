/**
 * Judge: evidence → findings → report. Pure: the same evidence always gives the same report,
 * which is what makes `fedcheck judge <bundle>` reproduce a run offline.
 */
import type { Finding, Report, ServerReport } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import { checks } from '../checks/index.js';
import { isServerNameError } from '../core/server-name.js';
import { VERSION } from '../version.js';

export function judgeServer(ev: ServerEvidence): ServerReport {
  const findings: Finding[] = [];
  for (const c of checks) {
    try {
      findings.push(...c.run(ev));
    } catch (e) {
      // A check must never take the report down: report the bug as a failed finding.
      findings.push({ id: c.id, status: 'fail', summary: `internal error in check ${c.id}: ${(e as Error).message}`, hint: 'This is a fedcheck bug: please report it with the --save-evidence bundle.' });
    }
  }
  if (ev.deadlineHit) {
    findings.push({ id: 'federation', status: 'fail', summary: `the ${Math.round(ev.options.timeoutMs / 1000)} s deadline was reached before every probe finished; unfinished probes are reported as timed out`, hint: 'Something did not answer in time (see the failures above); raise --timeout to wait longer.' });
  }
  const parsed = ev.parsed;
  const serverName = isServerNameError(parsed) ? ev.input : parsed.serverName;
  const report: ServerReport = {
    serverName,
    ok: !findings.some((f) => f.status === 'fail'),
    resolution: ev.discovery?.resolution ?? null,
    checks: findings,
    durationMs: ev.durationMs,
  };
  if (!isServerNameError(parsed) && parsed.input !== parsed.serverName) report.input = parsed.input;
  return report;
}

export function buildReport(servers: ServerReport[], now = new Date()): Report {
  return {
    schemaVersion: 1,
    ok: servers.every((s) => s.ok),
    tool: { name: 'fedcheck', version: VERSION },
    generatedAt: now.toISOString(),
    servers,
  };
}
