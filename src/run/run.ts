/**
 * Run `check` over several server names concurrently (bounded), judging each name as soon as its
 * evidence is complete.
 *
 * Admission control: every name has its own deadline (--timeout), and it starts when the name
 * starts. If this process is short of CPU, handshakes and responses wait in its event loop, and a
 * healthy name could run out of time waiting for *us* — a wrong verdict. So a new name is started
 * only while the event loop keeps up: `LoadGate` samples the loop's lag and adjusts how many
 * names may be in flight (at most --concurrency), growing it while the loop is idle and cutting it
 * when the loop lags. Names already in flight are never paused; their deadlines are unchanged.
 */
import type { Report, ServerReport } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import { setFlagsFromString } from 'node:v8';
import { gatherServer, prepare } from './gather.js';
import { buildReport, judgeServer } from './judge.js';
import type { RunOptions } from './options.js';

/** Optional observers (the CLI's progress line). They must not throw. */
export interface RunHooks {
  onStart?(name: string, index: number): void;
  onDone?(name: string, index: number, evidence: ServerEvidence): void;
}

export interface RunServersOptions {
  /**
   * Keep every name's evidence and return it (for --save-evidence). Default true. When false,
   * each bundle is dropped as soon as it is judged and `evidence` comes back empty: the
   * renderers need only the report, and 1,000 bundles are tens of MB.
   */
  keepEvidence?: boolean;
}

export interface RunResult {
  report: Report;
  /** per name, in input order; empty when `keepEvidence` was false */
  evidence: ServerEvidence[];
}

export async function runServers(names: string[], opts: RunOptions, concurrency = 8, hooks: RunHooks = {}, ro: RunServersOptions = {}): Promise<RunResult> {
  const keep = ro.keepEvidence !== false;
  const prep = prepare(opts);
  const evidence: ServerEvidence[] = keep ? new Array(names.length) : [];
  const reports: ServerReport[] = new Array(names.length);
  const workers = Math.min(concurrency, names.length);
  // One name (or a handful) needs no admission control, and tests with one lab name stay exact.
  const gate = workers > LoadGate.MIN_IN_FLIGHT ? new LoadGate(workers) : null;
  // Many names at once: CPU is the limit, not round trips — no speculative probes.
  if (gate) opts = { ...opts, speculative: false };
  // and a tighter heap. A batch allocates fast and keeps little (~40 MB live with 200 names in
  // flight); V8 then lets the old generation grow to ~4× the live size between full collections
  // (1,000 names: 160 MB of heap, 240 MB RSS). Growing by 2× at most keeps the peak near 180 MB
  // RSS for no measurable CPU (docs/performance.md). A process-wide V8 setting, read whenever V8
  // sizes the heap; harmless for the single-name runs that never get here.
  if (gate) setFlagsFromString('--heap-growing-percent=100');
  let next = 0;
  const worker = async () => {
    for (;;) {
      if (next >= names.length) return;
      if (gate) await gate.acquire();
      if (next >= names.length) {
        gate?.release();
        return;
      }
      const i = next++;
      try {
        hooks.onStart?.(names[i]!, i);
        const ev = await gatherServer(names[i]!, opts, prep);
        gate?.finished(ev.durationMs, opts.timeoutMs, ev.deadlineHit);
        reports[i] = judgeServer(ev);
        if (keep) evidence[i] = ev;
        hooks.onDone?.(names[i]!, i, ev);
      } finally {
        gate?.release();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    gate?.stop();
  }
  return { report: buildReport(reports), evidence };
}

/**
 * How many names may be in flight, from the event loop's lag (timer drift sampled every
 * SAMPLE_MS): additive-multiplicative — grow while the worst drift of a window stays under
 * LOW_MS, cut to 70 % when it exceeds HIGH_MS. Never below MIN_IN_FLIGHT (a busy machine still
 * makes progress) nor above the --concurrency cap.
 */
export class LoadGate {
  static readonly MIN_IN_FLIGHT = 4;
  static readonly SAMPLE_MS = 10;
  static readonly WINDOW_MS = 100;
  static readonly LOW_MS = 30;
  static readonly HIGH_MS = 80;

  limit: number;
  private readonly max: number;
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();
  private windowStart = this.last;
  private worst = 0;
  private waiters: Array<() => void> = [];

  constructor(max: number) {
    this.max = max;
    this.limit = Math.min(max, LoadGate.MIN_IN_FLIGHT * 4);
    this.timer = setInterval(() => this.sample(), LoadGate.SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const now = performance.now();
    this.worst = Math.max(this.worst, now - this.last - LoadGate.SAMPLE_MS);
    this.last = now;
    if (now - this.windowStart < LoadGate.WINDOW_MS) return;
    if (this.worst > LoadGate.HIGH_MS) this.limit = Math.max(LoadGate.MIN_IN_FLIGHT, Math.floor(this.limit * 0.8));
    else if (this.worst < LoadGate.LOW_MS) this.limit = Math.min(this.max, this.limit + Math.max(2, Math.ceil(this.limit / 4)));
    this.worst = 0;
    this.windowStart = now;
    this.wake();
  }

  /**
   * A name that finished within its deadline but used more than half of it: whatever is slow
   * (this process, the machine, the servers), starting more names now would make it slower — cut
   * the limit as for lag. Names that reached the deadline say nothing (a silent host always does).
   */
  finished(durationMs: number, timeoutMs: number, deadlineHit: boolean): void {
    if (deadlineHit || durationMs <= timeoutMs / 2) return;
    const now = performance.now();
    if (now - this.lastCut < LoadGate.WINDOW_MS) return;
    this.lastCut = now;
    this.limit = Math.max(LoadGate.MIN_IN_FLIGHT, Math.floor(this.limit * 0.8));
  }

  private lastCut = 0;

  /** names in flight (slots taken) */
  inFlight = 0;

  /** Resolves, with a slot taken, when another name may start (first come, first served). */
  acquire(): Promise<void> {
    if (this.waiters.length === 0 && this.inFlight < this.limit) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((r) => {
      this.waiters.push(r);
      this.wake();
    });
  }

  release(): void {
    this.inFlight--;
    this.wake();
  }

  /** Hand free slots to waiters, in order. */
  private wake(): void {
    while (this.waiters.length > 0 && (this.stopped || this.inFlight < this.limit)) {
      this.inFlight++;
      this.waiters.shift()!();
    }
  }

  private stopped = false;

  stop(): void {
    clearInterval(this.timer);
    this.stopped = true;
    this.wake();
  }
}
