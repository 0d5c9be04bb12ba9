/**
 * Scenario latency: one lab scenario at a simulated RTT. The lab runs in a helper process (its
 * servers' CPU is not the check's); the check — gather, then judge — runs here, several times
 * against the same lab. Every repetition builds a fresh NetContext and trust store: new DNS
 * cache, new connections, new TLS context, no session reuse. Only the JIT's warmth carries over
 * (one unmeasured warm-up run first).
 */
import { fileURLToPath } from 'node:url';
import { gatherServer, prepare } from '../src/run/gather.js';
import { judgeServer } from '../src/run/judge.js';
import { gatherers, type Gatherer } from '../src/probes/gatherers.js';
import type { TraceEvent } from '../src/net/http.js';
import type { RunOptions } from '../src/run/options.js';
import { readFileSync } from 'node:fs';
import { startHelper } from './child.js';
import { median } from './stats.js';

export interface TracedEvent {
  /** ms since the start of the run */
  at: number;
  kind: TraceEvent['kind'];
  message: string;
}

export interface ScenarioResult {
  scenario: string;
  rttMs: number;
  samplesMs: number[];
  medianMs: number;
  /** median CPU time (user + system) this process spent per run */
  cpuMs: number;
  /** median CPU time of the lab's process per run (Linux /proc; null elsewhere) */
  labCpuMs: number | null;
  ok: boolean;
  method: string | null;
  /** the trace of the run closest to the median */
  trace: TracedEvent[];
}

export interface MeasureOptions {
  /** run without the extra gatherers of src/probes/gatherers.ts (client discovery, proxy…) */
  withoutExtraGatherers?: boolean;
  /** RunOptions.speculative (default: as `fedcheck check` with one name, true) */
  speculative?: boolean;
}

/** CPU time (user + system, ms) of another process, from /proc (null where there is none). */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 (utime, stime) in clock ticks; 100 per second on Linux
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

const LAB_CHILD = fileURLToPath(new URL('./lab-child.js', import.meta.url));

export async function measureScenario(name: string, rttMs: number, reps: number, mo: MeasureOptions = {}): Promise<ScenarioResult> {
  const lab = await startHelper<{ serverName: string; runOptions: RunOptions }>(LAB_CHILD, [name, String(rttMs)]);
  const saved: Gatherer[] = [...gatherers];
  if (mo.withoutExtraGatherers) gatherers.length = 0;
  try {
    const { serverName, runOptions } = lab.info;
    const runs: Array<{ ms: number; cpuMs: number; labCpuMs: number | null; trace: TracedEvent[]; ok: boolean; method: string | null }> = [];
    for (let i = 0; i <= reps; i++) {
      const trace: TracedEvent[] = [];
      let t0 = 0;
      const opts: RunOptions = { ...runOptions, ...(mo.speculative === false ? { speculative: false } : {}), trace: (_s: string, e: TraceEvent) => trace.push({ at: performance.now() - t0, kind: e.kind, message: e.message }) };
      const cpu0 = process.cpuUsage();
      const lab0 = processCpuMs(lab.child.pid);
      t0 = performance.now();
      const ev = await gatherServer(serverName, opts, prepare(opts));
      const report = judgeServer(ev);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const lab1 = processCpuMs(lab.child.pid);
      if (i > 0) runs.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000, labCpuMs: lab0 !== null && lab1 !== null ? lab1 - lab0 : null, trace, ok: report.ok, method: report.resolution?.method ?? null }); // run 0 warms up
    }
    const samplesMs = runs.map((r) => r.ms);
    const med = median(samplesMs);
    const closest = runs.reduce((a, b) => (Math.abs(b.ms - med) < Math.abs(a.ms - med) ? b : a));
    return { scenario: name, rttMs, samplesMs, medianMs: med, cpuMs: median(runs.map((r) => r.cpuMs)), labCpuMs: runs.every((r) => r.labCpuMs !== null) ? median(runs.map((r) => r.labCpuMs!)) : null, ok: runs.every((r) => r.ok), method: closest.method, trace: closest.trace };
  } finally {
    gatherers.splice(0, gatherers.length, ...saved);
    await lab.stop();
  }
}
