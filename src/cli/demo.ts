/**
 * `fedcheck demo [scenario]`: bring up a lab scenario on loopback and check it, with every output
 * option of `check`. The exit code is the check's: a broken scenario exits 1.
 */
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { makeProgress, parseTimeout, preflightOutputs, runWithTerminal } from './check.js';
import { emit } from './output.js';
import { sanitize } from '../core/sanitize.js';

export interface DemoCliOptions extends OutputOptions {
  list?: boolean;
  rtt: string;
  timeout: string;
}

export async function runDemoCommand(name: string | undefined, opts: DemoCliOptions): Promise<number> {
  const { scenarios, findScenario } = await import('../lab/scenarios/index.js');
  if (opts.list) {
    process.stdout.write(listScenarios(scenarios));
    return 0;
  }
  const scenario = findScenario(name ?? 'healthy');
  if (!scenario) throw new ExitError(`no lab scenario named "${sanitize(name ?? '', 60)}" (see fedcheck demo --list)`, 2);
  const rtt = Number(opts.rtt);
  if (!/^\d+(\.\d+)?$/.test(opts.rtt.trim()) || rtt > 5000) throw new ExitError(`--rtt "${sanitize(opts.rtt, 20)}" must be a number of milliseconds from 0 to 5000`, 2);
  const timeoutMs = parseTimeout(opts.timeout);
  preflightOutputs(opts);
  const progress = makeProgress(opts);
  progress?.status(`starting the lab for scenario ${scenario.name}…`);
  const { startLab } = await import('../lab/deployment.js');
  const lab = await startLab(scenario, { rttMs: rtt, timeoutMs }).finally(() => progress?.status(''));
  try {
    const banner = [
      `fedcheck demo: lab scenario "${scenario.name}" — ${scenario.title}`,
      `  (the same as: fedcheck check ${lab.cliArgs.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')})`,
    ];
    if (!opts.json) {
      for (const l of banner) progress ? progress.log(l) : process.stderr.write(l + '\n');
      progress ? progress.log('') : process.stderr.write('\n');
    }
    const { report, evidence } = await runWithTerminal([lab.serverName], lab.runOptions, 1, opts, progress);
    return await emit(report, evidence, opts);
  } finally {
    progress?.stop();
    await lab.stop();
  }
}

/** `demo --list`: the scenarios grouped (healthy first, then one group per area). */
export function listScenarios(scenarios: ReadonlyArray<{ name: string; title: string; group: string }>): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  const groups = [...new Set(scenarios.map((s) => s.group))];
  const out: string[] = [];
  for (const g of groups) {
    out.push(`${g}:`);
    for (const s of scenarios.filter((x) => x.group === g)) out.push(`  ${s.name.padEnd(width)}  ${s.title}`);
  }
  out.push('', 'Run one with: fedcheck demo <scenario> (accepts every output option of check: --json, --junit, --markdown, --verbose, --save-evidence…)');
  return out.join('\n') + '\n';
}
