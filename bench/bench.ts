/**
 * `npm run bench`: how close fedcheck gets to the network's own time (docs/performance.md).
 *
 *   1. scenarios — the healthy well-known-delegated and the SRV lab scenarios at 50 ms RTT:
 *      median wall time, ÷ RTT, and ÷ the fewest round trips spec §1 allows (bench/bounds.ts);
 *      also without the extra gatherers (client discovery, compatibility…), to show what they
 *      add to the critical path;
 *   2. start-up — `fedcheck --version` and `fedcheck check --help` against `node -e 0`;
 *   3. batch — `fedcheck check --from-file` over 1,000 lab names (10 % broken) at 50 ms RTT,
 *      --concurrency 200, --timeout 5: wall time, the child's peak RSS, and whether every
 *      verdict matches the lab's ground truth; then the same without the extra gatherers.
 *
 * Every figure is printed with its target and whether it is met. It is a report, not a test:
 * the exit code is 0 whether targets are met or not (1 only if the benchmark itself broke).
 *
 * Options: --only scenarios,startup,batch   --reps N (7)   --startup-runs N (15)
 *          --names N (1000)   --concurrency N (200)   --timeout S (5)   --rtt MS (50)
 *          --trace (print the step trace of each scenario's median run)   --json FILE
 */
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { BOUNDS } from './bounds.js';
import { measureScenario, type ScenarioResult } from './scenarios.js';
import { measureStartup, type StartupResult } from './startup.js';
import { runBatch, type BatchResult } from './batch.js';
import { fmtMs } from './stats.js';

process.env.FEDCHECK_LOOPBACK_ONLY = '1';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : dflt;
}
const only = new Set(arg('only', 'scenarios,startup,batch').split(','));
const reps = Number(arg('reps', '7'));
const startupRuns = Number(arg('startup-runs', '15'));
const names = Number(arg('names', '1000'));
const concurrency = Number(arg('concurrency', '200'));
const timeoutS = Number(arg('timeout', '5'));
const rtt = Number(arg('rtt', '50'));
const showTrace = process.argv.includes('--trace');
const jsonOut = arg('json', '');

interface Row {
  section: string;
  figure: string;
  value: string;
  target: string;
  /** null = information only */
  met: boolean | null;
}
const rows: Row[] = [];
const out = (s = '') => process.stdout.write(`${s}\n`);

function machine() {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

const started = machine();
out(`fedcheck benchmark · node ${started.node} · ${started.cpus} CPU (${started.cpuModel}) · ${started.memoryGiB} GiB · load average ${started.loadAverage.join(' ')}`);
if (started.loadAverage[0]! > started.cpus) out(`  ! the machine is busy (1-minute load ${started.loadAverage[0]} > ${started.cpus} CPUs): CPU-bound figures will be pessimistic`);
out();

const results: {
  machine: ReturnType<typeof machine>;
  scenarios: ScenarioResult[];
  bare: ScenarioResult[];
  startup: StartupResult | null;
  batch: BatchResult | null;
  batchBare: BatchResult | null;
  machineAfter?: ReturnType<typeof machine>;
} = { machine: started, scenarios: [], bare: [], startup: null, batch: null, batchBare: null };

let broken = false;
async function section(name: string, fn: () => Promise<void> | void): Promise<void> {
  if (!only.has(name)) return;
  try {
    await fn();
  } catch (e) {
    broken = true;
    out(`! ${name}: the benchmark itself failed: ${(e as Error).stack ?? e}`);
    rows.push({ section: name, figure: 'benchmark', value: 'FAILED', target: '—', met: false });
  }
}

await section('scenarios', async () => {
  for (const b of BOUNDS) {
    out(`scenario ${b.scenario} @ ${rtt} ms RTT: ${reps} runs…`);
    const r = await measureScenario(b.scenario, rtt, reps);
    const bare = await measureScenario(b.scenario, rtt, reps, { withoutExtraGatherers: true });
    results.scenarios.push(r);
    results.bare.push(bare);
    const rttsSeen = r.medianMs / rtt;
    const ratio = rttsSeen / b.rtts;
    const label = `${b.scenario} (${b.label})`;
    if (!r.ok) out(`  ! the ${b.scenario} scenario was not judged OK: the figure does not describe a healthy run`);
    rows.push({ section: 'scenario', figure: `${label}: wall (median of ${reps})`, value: `${fmtMs(r.medianMs)} = ${rttsSeen.toFixed(2)} RTT`, target: `bound ${b.rtts} RTT = ${b.rtts * rtt} ms`, met: null });
    rows.push({ section: 'scenario', figure: `${label}: observed ÷ bound`, value: ratio.toFixed(2), target: '≤ 1.25', met: r.ok && ratio <= 1.25 });
    rows.push({ section: 'scenario', figure: `${b.scenario} without the extra gatherers: observed ÷ bound`, value: `${(bare.medianMs / rtt / b.rtts).toFixed(2)} (${fmtMs(bare.medianMs)})`, target: 'information', met: null });
    rows.push({ section: 'scenario', figure: `${b.scenario}: CPU of the check per run (with / without extra gatherers)`, value: `${fmtMs(r.cpuMs)} / ${fmtMs(bare.cpuMs)}`, target: 'information', met: null });
    if (showTrace) {
      out(`  trace of the median run (${fmtMs(r.medianMs)}):`);
      for (const e of r.trace) out(`    ${e.at.toFixed(0).padStart(5)} ms ${(e.at / rtt).toFixed(2).padStart(5)} RTT  ${e.kind.padEnd(8)} ${e.message}`);
    }
  }
});

await section('startup', () => {
  out(`start-up: ${startupRuns} alternated runs each…`);
  const s = measureStartup(startupRuns);
  results.startup = s;
  rows.push({ section: 'startup', figure: 'node -e 0 (median)', value: fmtMs(s.nodeMs), target: 'baseline', met: null });
  rows.push({ section: 'startup', figure: `fedcheck --version: ${fmtMs(s.versionMs)} ÷ node`, value: `${(s.versionMs / s.nodeMs).toFixed(2)}×`, target: '≤ 1.5×', met: s.versionMs / s.nodeMs <= 1.5 });
  rows.push({ section: 'startup', figure: `fedcheck check --help: ${fmtMs(s.helpMs)} ÷ node`, value: `${(s.helpMs / s.nodeMs).toFixed(2)}×`, target: '≤ 1.5×', met: s.helpMs / s.nodeMs <= 1.5 });
});

await section('batch', async () => {
  out(`batch: ${names} names, 10 % broken, ${rtt} ms RTT, --concurrency ${concurrency}, --timeout ${timeoutS}…`);
  const b = await runBatch(names, 0.1, rtt, concurrency, timeoutS);
  results.batch = b;
  const valid = b.misjudged.length === 0;
  if (!valid) {
    out(`  ! ${b.misjudged.length} of ${b.names} names were judged against the lab's ground truth, e.g.:`);
    for (const m of b.misjudged.slice(0, 5)) out(`    ${m}`);
  }
  const setup = `${b.names} names (${b.broken} broken), --concurrency ${b.concurrency}, --timeout ${b.timeoutS}`;
  rows.push({ section: 'batch', figure: `wall time: ${setup}`, value: fmtMs(b.wallMs), target: '≤ 30 s', met: valid && b.wallMs <= 30_000 });
  rows.push({ section: 'batch', figure: 'peak RSS of the fedcheck process', value: `${b.maxRssMb.toFixed(0)} MB`, target: '≤ 200 MB', met: valid && b.maxRssMb <= 200 });
  rows.push({ section: 'batch', figure: 'verdicts as the lab intends (OK / not OK)', value: `${b.okServers} / ${b.failedServers}; ${b.misjudged.length} wrong`, target: `${b.names - b.broken} / ${b.broken}; 0 wrong`, met: valid });
  rows.push({ section: 'batch', figure: 'CPU of the fedcheck process / of the lab; slowest healthy name', value: `${fmtMs(b.cpuMs)} / ${fmtMs(b.labCpuMs)}; ${fmtMs(b.slowestHealthyMs)}`, target: 'information', met: null });

  out(`batch again without the extra gatherers (discovery + per-address probes only)…`);
  const bare = await runBatch(names, 0.1, rtt, concurrency, timeoutS, { bare: true });
  results.batchBare = bare;
  rows.push({
    section: 'batch',
    figure: 'the same batch without the extra gatherers: wall; peak RSS; wrong verdicts',
    value: `${fmtMs(bare.wallMs)}; ${bare.maxRssMb.toFixed(0)} MB; ${bare.misjudged.length}`,
    target: 'information',
    met: null,
  });
});

results.machineAfter = machine();
out();
const w0 = Math.max(...rows.map((r) => r.figure.length), 6);
const w1 = Math.max(...rows.map((r) => r.value.length), 5);
const w2 = Math.max(...rows.map((r) => r.target.length), 6);
out(`${'figure'.padEnd(w0)}  ${'value'.padEnd(w1)}  ${'target'.padEnd(w2)}  met?`);
out(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(w2)}  ----`);
for (const r of rows) {
  const met = r.met === null ? '' : r.met ? 'yes' : 'NO  <<<';
  out(`${r.figure.padEnd(w0)}  ${r.value.padEnd(w1)}  ${r.target.padEnd(w2)}  ${met}`);
}
const missed = rows.filter((r) => r.met === false);
out();
out(missed.length === 0 ? 'all targets met.' : `${missed.length} target(s) NOT met: ${missed.map((r) => r.figure).join('; ')}`);
out(`load average at the end: ${results.machineAfter.loadAverage.join(' ')}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ rows, ...results }, null, 2));
process.exitCode = broken ? 1 : 0;
