/**
 * Judge: evidence → findings → report. Pure: the same evidence always gives the same report,
 * which is what makes `fedcheck judge <bundle>` reproduce a run offline.
 */
import type { Finding, Report, Resolution, ServerReport } from '../core/types.js';
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
    findings.push({ id: 'federation', status: 'fail', summary: `the ${Math.round(Number(ev.options?.timeoutMs) / 1000)} s deadline was reached before every probe finished; unfinished probes are reported as timed out`, hint: 'Something did not answer in time (see the failures above); raise --timeout to wait longer.' });
  }
  // (a bundle read back by `fedcheck judge` may be damaged: the report keeps its schema anyway)
  const parsed = ev.parsed !== null && typeof ev.parsed === 'object' && !isServerNameError(ev.parsed) && typeof ev.parsed.serverName === 'string' ? ev.parsed : null;
  const serverName = parsed ? parsed.serverName : String(ev.input);
  const report: ServerReport = {
    serverName,
    ok: !findings.some((f) => f.status === 'fail'),
    resolution: wellFormed(ev.discovery?.resolution),
    checks: findings,
    durationMs: ev.durationMs,
  };
  if (parsed && typeof parsed.input === 'string' && parsed.input !== parsed.serverName) report.input = parsed.input;
  return report;
}

/**
 * The resolution as the report schema has it, or null: evidence read back by `fedcheck judge`
 * may have been damaged, and the renderers rely on the report's shape.
 */
function wellFormed(r: Resolution | null | undefined): Resolution | null {
  if (!r || typeof r !== 'object') return null;
  const str = (v: unknown): v is string => typeof v === 'string';
  const ok =
    str(r.method) && str(r.hostHeader) && (r.tlsServerName === null || str(r.tlsServerName)) && (r.delegatedServerName === null || str(r.delegatedServerName)) &&
    Array.isArray(r.targets) &&
    r.targets.every((t) => t !== null && typeof t === 'object' && str(t.host) && Number.isInteger(t.port) && Array.isArray(t.addresses) && t.addresses.every(str));
  return ok ? r : null;
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
