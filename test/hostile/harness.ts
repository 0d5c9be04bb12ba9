/**
 * The hostile corpus harness: bring every behaviour's deployment up first (certificate minting is
 * CPU-bound and must not run while other behaviours are being timed), then run fedcheck against
 * each — several at once — and check the invariants every behaviour must hold:
 *
 *  1. the run (gather + judge) ends within the timeout + 1 s;
 *  2. nothing throws, no unhandled rejection or uncaught exception, no "internal error" finding;
 *  3. the behaviour's own expectation: the problem is named on the right check;
 *  4. no control character reaches the text, JSON, Markdown, JUnit or GitHub output, the
 *     --verbose trace or the evidence bundle (\n excepted);
 *  5. every TCP connection fedcheck opened went to a lab listener ("never wander").
 *
 * At the end the file prints `hostile: N/N behaviours held`.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type * as netTypes from 'node:net';
import '../helpers/lab.js'; // sets FEDCHECK_LOOPBACK_ONLY=1
import { startHostileLab, labPorts, type HostileDeployment, type HostileLab } from '../../src/lab/hostile/lab.js';
import { gatherServer, prepare } from '../../src/run/gather.js';
import { judgeServer, buildReport } from '../../src/run/judge.js';
import { renderText } from '../../src/report/text.js';
import { renderJson } from '../../src/report/json.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderGithubAnnotations } from '../../src/report/github.js';
import { makeTracer } from '../../src/cli/trace.js';
import { exitCodeOf } from '../../src/cli/output.js';
import type { Finding, ServerReport, Status, CheckId } from '../../src/core/types.js';
import type { ServerEvidence } from '../../src/core/evidence.js';

/** The timeout every behaviour runs with (the CLI's --timeout 3). */
export const TIMEOUT_MS = 3000;

export interface RunResult {
  report: ServerReport;
  evidence: ServerEvidence;
  ms: number;
  lab: HostileLab;
  trace?: string[];
  /** rendered outputs by format (text, json, markdown, junit, github, verbose, evidence) */
  outputs: Record<string, string>;
}

export interface Behaviour {
  /** kebab-case id */
  name: string;
  area: 'http' | 'redirect' | 'value' | 'dns' | 'tls';
  title: string;
  /** build the deployment (may be CPU-heavy: runs before any timing starts) */
  deploy(): HostileDeployment;
  /** what a correct fedcheck reports */
  expect(r: RunResult): void;
  /**
   * Run alone, after the others: for behaviours made of many sequential round trips (a 30-hop
   * redirect chain), whose timing would otherwise measure the corpus's own load — every lab
   * server of every concurrent behaviour shares this process's one thread.
   */
  exclusive?: boolean;
}

// ---------------------------------------------------------------------------------------------
// assertions
// ---------------------------------------------------------------------------------------------

export function show(r: ServerReport): string {
  return r.checks.map((c) => `  ${c.status.padEnd(4)} ${c.id}${c.target ? ` @${c.target}` : ''}: ${c.summary}`).join('\n') + `\n  resolution: ${JSON.stringify(r.resolution)}`;
}

/** The first finding with this id (and status/target/summary), or an assertion error listing the report. */
export function finding(r: ServerReport, id: CheckId, status: Status | Status[], summary?: RegExp | string, target?: string): Finding {
  const statuses = Array.isArray(status) ? status : [status];
  const f = r.checks.find(
    (c) =>
      c.id === id &&
      statuses.includes(c.status) &&
      (target === undefined || c.target === target) &&
      (summary === undefined || (typeof summary === 'string' ? c.summary.includes(summary) : summary.test(c.summary))),
  );
  assert.ok(f, `expected a ${statuses.join('/')} ${id} finding${target ? ` @${target}` : ''}${summary ? ` matching ${summary}` : ''}:\n${show(r)}`);
  return f;
}

/** No finding of this id has one of these statuses. */
export function none(r: ServerReport, id: CheckId, status: Status | Status[], target?: string): void {
  const statuses = Array.isArray(status) ? status : [status];
  const f = r.checks.find((c) => c.id === id && statuses.includes(c.status) && (target === undefined || c.target === target));
  assert.ok(!f, `unexpected ${f?.status} ${id} finding: ${f?.summary}\n${show(r)}`);
}

/** C0 controls except LF, DEL, C1 controls, bidi embeddings/overrides/isolates. */
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

// eslint-disable-next-line no-control-regex
const C0 = /[\u0000-\u0009\u000b-\u001f]/;

function assertClean(name: string, text: string, re: RegExp = CONTROL): void {
  const m = re.exec(text);
  if (m) {
    const at = m.index;
    assert.fail(`${name} output contains U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} near ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 20))}`);
  }
}

// ---------------------------------------------------------------------------------------------
// process-wide watchers
// ---------------------------------------------------------------------------------------------

/** Which behaviour a piece of async work belongs to. */
export const running = new AsyncLocalStorage<string>();

/** Every TCP connect of the process (host, port, behaviour), via the patched node:net. */
export const connects: Array<{ host: string; port: number; by: string | undefined }> = [];
const require = createRequire(import.meta.url);
const netCjs = require('node:net') as typeof netTypes;
const originalConnect = netCjs.connect;
let patched = false;
export function recordConnects(): void {
  if (patched) return;
  patched = true;
  netCjs.connect = function (this: unknown, ...args: unknown[]) {
    const o = args[0];
    if (o && typeof o === 'object') {
      const opts = o as netTypes.NetConnectOpts & { host?: string; port?: number };
      if ('port' in opts) connects.push({ host: String(opts.host ?? 'localhost'), port: Number(opts.port), by: running.getStore() });
    } else if (typeof o === 'number' || typeof o === 'string') {
      connects.push({ host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(o), by: running.getStore() });
    }
    return (originalConnect as (...a: unknown[]) => netTypes.Socket).apply(this, args);
  } as typeof netCjs.connect;
  (netCjs as unknown as { createConnection: unknown }).createConnection = netCjs.connect;
  syncBuiltinESMExports();
}

export const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
process.on('uncaughtException', (e) => unhandled.push(e));

// ---------------------------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------------------------

/** gather + judge, timed, with the --verbose trace collected. */
export async function gatherTimed(lab: HostileLab, timeoutMs = TIMEOUT_MS): Promise<{ report: ServerReport; evidence: ServerEvidence; ms: number; trace: string[] }> {
  const trace: string[] = [];
  const tracer = makeTracer((line: string) => trace.push(line));
  const opts = { ...lab.runOptions, timeoutMs, trace: tracer };
  const t0 = Date.now();
  const evidence = await gatherServer(lab.serverName, opts, prepare(opts));
  const report = judgeServer(evidence);
  return { report, evidence, ms: Date.now() - t0, trace };
}

/** Every output format fedcheck has, for one run. */
export function render(r: { report: ServerReport; evidence: ServerEvidence; trace?: string[] }): Record<string, string> {
  const full = buildReport([r.report]);
  return {
    text: renderText(full, { colour: false, width: 100 }),
    json: renderJson(full),
    markdown: renderMarkdown(full),
    junit: renderJunit(full),
    github: renderGithubAnnotations(full),
    verbose: (r.trace ?? []).join('\n'),
    evidence: JSON.stringify({ bundleVersion: 1, servers: [r.evidence] }, null, 1),
  };
}

/**
 * Whatever a server sends, a finding stays readable: summaries and hints are bounded (a summary
 * repeating a 30 KB value is useless, and the text renderer's table library slows down
 * quadratically on long cells). Checked before rendering.
 */
export function assertBounded(b: Behaviour, r: { report: ServerReport }): void {
  for (const c of r.report.checks) {
    assert.ok(c.summary.length <= 2000, `${b.name}: ${c.id} summary is ${c.summary.length} characters: ${c.summary.slice(0, 200)}…`);
    assert.ok((c.hint ?? '').length <= 4000, `${b.name}: ${c.id} hint is ${(c.hint ?? '').length} characters`);
    assert.ok((c.target ?? '').length <= 300, `${b.name}: ${c.id} target is ${(c.target ?? '').length} characters`);
  }
}

/** Check the invariants and the behaviour's expectation on one run. */
export function assertHeld(b: Behaviour, r: RunResult, timeoutMs = TIMEOUT_MS): void {
  assert.ok(r.ms <= timeoutMs + 1000, `${b.name}: the run took ${r.ms} ms with a ${timeoutMs} ms timeout\n${show(r.report)}`);
  const internal = r.report.checks.find((c) => /internal error/i.test(c.summary));
  assert.ok(!internal, `${b.name}: ${internal?.summary}`);
  assert.ok([0, 1].includes(exitCodeOf(buildReport([r.report]))));
  for (const [name, text] of Object.entries(r.outputs)) {
    // The evidence bundle is a file for `fedcheck judge`, not printed: JSON keeps C0 controls
    // escaped; the server's other bytes (DEL, C1, bidi) are kept as data.
    if (name === 'evidence') assertClean(`${b.name}: ${name}`, text, C0);
    else assertClean(`${b.name}: ${name}`, text);
  }
  JSON.parse(r.outputs.json!);
  b.expect(r);
}

/** Every connect attributed to `name` (all of them with `name` undefined) went to a lab listener on loopback. */
export function assertNoWander(name: string | undefined): void {
  for (const c of connects) {
    if (name !== undefined && c.by !== name) continue;
    const who = c.by ?? '(no behaviour)';
    assert.ok(/^127\./.test(c.host) || c.host === '::1', `${who}: connected to ${c.host}:${c.port}`);
    assert.ok(labPorts.has(c.port), `${who}: connected to ${c.host}:${c.port}, which is no lab listener`);
  }
}

type Outcome = { ok: true; r: RunResult } | { ok: false; error: unknown };

/**
 * Register the corpus. In a `before` hook: bring every deployment up (one after the other: TLS
 * material is minted synchronously), then run fedcheck against them, `concurrency` at a time,
 * each run timed on its own (gather + judge only: rendering, which is CPU-heavy, is left to the
 * tests so it cannot delay another behaviour's timers). Then one test per behaviour checks the
 * invariants and its expectation. At the end the summary line is printed.
 */
export function corpus(title: string, all: Behaviour[], concurrency = 4): void {
  recordConnects();
  // HOSTILE_ONLY=name,name runs a subset (for debugging one behaviour)
  const only = process.env.HOSTILE_ONLY?.split(',').filter(Boolean);
  const behaviours = only ? all.filter((b) => only.includes(b.name)) : all;
  const labs = new Map<string, HostileLab>();
  const outcomes = new Map<string, Outcome>();
  const held = new Set<string>();
  const names = new Set<string>();
  for (const b of behaviours) {
    assert.ok(!names.has(b.name), `duplicate behaviour ${b.name}`);
    names.add(b.name);
  }
  describe(title, () => {
    before(async () => {
      for (const b of behaviours) {
        try {
          labs.set(b.name, await startHostileLab(b.deploy(), { timeoutMs: TIMEOUT_MS }));
        } catch (error) {
          outcomes.set(b.name, { ok: false, error });
        }
      }
      const queue = [...behaviours.filter((b) => !b.exclusive)];
      const alone = behaviours.filter((b) => b.exclusive);
      const started = Date.now();
      const worker = async () => {
        while (queue.length > 0) {
          const b = queue.shift()!;
          const lab = labs.get(b.name);
          if (!lab) continue;
          try {
            const t0 = Date.now();
            const timed = await running.run(b.name, () => gatherTimed(lab));
            if (process.env.HOSTILE_DEBUG) console.error(`[hostile] ${b.name}: ${timed.ms} ms (started +${t0 - started} ms)`);
            outcomes.set(b.name, { ok: true, r: { ...timed, lab, outputs: {} } });
          } catch (error) {
            outcomes.set(b.name, { ok: false, error });
          }
        }
      };
      const { monitorEventLoopDelay } = await import('node:perf_hooks');
      const h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      await Promise.all(Array.from({ length: concurrency }, worker));
      queue.push(...alone);
      await worker();
      h.disable();
      if (process.env.HOSTILE_DEBUG) console.error(`[hostile] event loop delay: max ${Math.round(h.max / 1e6)} ms, p99 ${Math.round(h.percentile(99) / 1e6)} ms, mean ${Math.round(h.mean / 1e6)} ms`);
    });
    after(async () => {
      await Promise.all([...labs.values()].map((l) => l.stop()));
    });
    for (const b of behaviours) {
      it(`${b.area}: ${b.name}: ${b.title}`, () => {
        const o = outcomes.get(b.name);
        assert.ok(o, 'the behaviour did not run');
        if (!o.ok) throw o.error;
        const r = o.r;
        assertBounded(b, r);
        r.outputs = render(r);
        assertHeld(b, r);
        assertNoWander(b.name);
        assert.deepEqual(unhandled, [], 'unhandled rejection or uncaught exception');
        held.add(b.name);
      });
    }
    it('no connection of the whole corpus left the lab', () => assertNoWander(undefined));
  });
  after(() => {
    console.log(`hostile: ${held.size}/${behaviours.length} behaviours held`);
  });
}
