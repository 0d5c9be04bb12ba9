/** `fedcheck demo [scenario]`: bring up a lab scenario on loopback and check it. */
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { parseTimeout } from './check.js';
import { emit } from './output.js';
import { makeTracer } from './trace.js';

export async function runDemoCommand(name: string | undefined, opts: OutputOptions & { list?: boolean; rtt: string; timeout: string }): Promise<number> {
  const { scenarios, findScenario } = await import('../lab/scenarios/index.js');
  if (opts.list) {
    const width = Math.max(...scenarios.map((s) => s.name.length));
    const groups = [...new Set(scenarios.map((s) => s.group))];
    for (const g of groups) {
      process.stdout.write(`${g}:\n`);
      for (const s of scenarios.filter((x) => x.group === g)) process.stdout.write(`  ${s.name.padEnd(width)}  ${s.title}\n`);
    }
    return 0;
  }
  const scenario = findScenario(name ?? 'healthy');
  if (!scenario) throw new ExitError(`no lab scenario named "${name}" (see fedcheck demo --list)`, 2);
  const rtt = Number(opts.rtt);
  if (!Number.isFinite(rtt) || rtt < 0 || rtt > 5000) throw new ExitError(`--rtt "${opts.rtt}" must be a number of milliseconds from 0 to 5000`, 2);
  const timeoutMs = parseTimeout(opts.timeout);
  const { startLab } = await import('../lab/deployment.js');
  const lab = await startLab(scenario, { rttMs: rtt, timeoutMs });
  try {
    const { runServers } = await import('../run/run.js');
    const runOpts = { ...lab.runOptions, ...(opts.verbose ? { trace: makeTracer(process.stderr) } : {}) };
    if (!opts.json) {
      process.stderr.write(`fedcheck demo: lab scenario "${scenario.name}" — ${scenario.title}\n`);
      process.stderr.write(`  (the same as: fedcheck check ${lab.cliArgs.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')})\n\n`);
    }
    const { report, evidence } = await runServers([lab.serverName], runOpts, 1);
    return await emit(report, evidence, opts);
  } finally {
    await lab.stop();
  }
}
