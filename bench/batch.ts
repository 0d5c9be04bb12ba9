/**
 * The batch figure: `fedcheck check --from-file` over a lab of many server names, run as a child
 * process (the real CLI, bin/fedcheck.js) so that its wall time and peak RSS are the CLI's own;
 * the lab's servers run in this process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBatchLab, type Breakage } from './batch-lab.js';

export interface BatchResult {
  names: number;
  broken: number;
  rttMs: number;
  concurrency: number;
  timeoutS: number;
  wallMs: number;
  maxRssMb: number;
  cpuMs: number;
  /** CPU the lab (this process: DNS, relays, TLS servers) spent meanwhile */
  labCpuMs: number;
  /** memory breakdown sampled when the child's RSS was highest */
  memoryAtPeak: Record<string, number>;
  exitCode: number | null;
  /** servers the report calls OK / not OK */
  okServers: number;
  failedServers: number;
  /** report verdicts that differ from the lab's ground truth (healthy ↔ broken) */
  misjudged: string[];
  /** slowest server durations reported, ms */
  slowestHealthyMs: number;
}

const BIN = fileURLToPath(new URL('../../bin/fedcheck.js', import.meta.url));
const HOOK = fileURLToPath(new URL('./rss-hook.js', import.meta.url));
const BARE_HOOK = fileURLToPath(new URL('./gatherers-hook.js', import.meta.url));

export interface BatchOptions {
  /** without the extra gatherers (client discovery, compatibility, proxy…) */
  bare?: boolean;
  /** extra node flags for the child (e.g. --cpu-prof) */
  nodeArgs?: string[];
}

export async function runBatch(count: number, brokenShare: number, rttMs: number, concurrency: number, timeoutS: number, bo: BatchOptions = {}): Promise<BatchResult> {
  const lab = await startBatchLab(count, brokenShare, rttMs);
  const dir = mkdtempSync(join(tmpdir(), 'fedcheck-bench-usage-'));
  const usageFile = join(dir, 'usage.jsonl');
  try {
    const args = [...(bo.nodeArgs ?? []), '--import', HOOK, ...(bo.bare ? ['--import', BARE_HOOK] : []), BIN, 'check', '--from-file', lab.namesFile, '--concurrency', String(concurrency), '--timeout', String(timeoutS), '--json', ...lab.cliArgs];
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDCHECK_LOOPBACK_ONLY: '1', FEDCHECK_BENCH_USAGE: usageFile, NO_COLOR: '1', ...(bo.bare ? { FEDCHECK_BENCH_BARE: '1' } : {}) } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.once('error', reject);
      child.once('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    });
    const wallMs = performance.now() - t0;
    const labCpu = process.cpuUsage(cpu0);
    const usage = JSON.parse(readFileSync(usageFile, 'utf8').trim().split('\n').pop()!) as { maxRssKb: number; userMs: number; systemMs: number; atPeak: Record<string, number> };
    let report: { servers: Array<{ serverName: string; ok: boolean; durationMs?: number; checks: Array<{ id: string; status: string; summary: string }> }> };
    try {
      report = JSON.parse(stdout) as typeof report;
    } catch {
      throw new Error(`the batch run printed no JSON report (exit ${code}): ${stderr.slice(0, 500)}`);
    }
    const misjudged: string[] = [];
    let okServers = 0;
    let slowestHealthyMs = 0;
    for (const s of report.servers) {
      const kind: Breakage | undefined = lab.broken.get(s.serverName);
      if (s.ok) okServers++;
      if (s.ok === (kind !== undefined)) {
        const why = s.checks.filter((c) => c.status === 'fail' || (c.id === 'well-known' && c.status !== 'pass')).map((c) => `${c.id}: ${c.summary}`).slice(0, 3).join('; ');
        misjudged.push(`${s.serverName} (${kind ?? 'healthy'}) judged ${s.ok ? 'OK' : `not OK — ${why}`}`);
      }
      if (!kind) slowestHealthyMs = Math.max(slowestHealthyMs, s.durationMs ?? 0);
    }
    return {
      names: count,
      broken: lab.broken.size,
      rttMs,
      concurrency,
      timeoutS,
      wallMs,
      maxRssMb: usage.maxRssKb / 1024,
      cpuMs: usage.userMs + usage.systemMs,
      labCpuMs: (labCpu.user + labCpu.system) / 1000,
      memoryAtPeak: usage.atPeak,
      exitCode: code,
      okServers,
      failedServers: report.servers.length - okServers,
      misjudged,
      slowestHealthyMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await lab.stop();
  }
}
