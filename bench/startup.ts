/**
 * Start-up: `fedcheck --version` and `fedcheck check --help` against bare `node -e 0`, run
 * alternately (so that drifting machine load hits all three alike), wall time of each process
 * from spawn to exit.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

const BIN = fileURLToPath(new URL('../../bin/fedcheck.js', import.meta.url));

export interface StartupResult {
  runs: number;
  nodeMs: number;
  versionMs: number;
  helpMs: number;
  samples: Record<'node' | 'version' | 'help', number[]>;
}

function timeOnce(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(0, 300)}`);
  return ms;
}

export function measureStartup(runs: number): StartupResult {
  const cmds = {
    node: ['-e', '0'],
    version: [BIN, '--version'],
    help: [BIN, 'check', '--help'],
  } as const;
  const samples: StartupResult['samples'] = { node: [], version: [], help: [] };
  // one unmeasured round: warm the file cache
  for (const k of Object.keys(cmds) as Array<keyof typeof cmds>) timeOnce([...cmds[k]]);
  for (let i = 0; i < runs; i++) {
    // rotate the order each round so no command always runs first
    const order = (['node', 'version', 'help'] as const).map((_, j, a) => a[(i + j) % a.length]!);
    for (const k of order) samples[k].push(timeOnce([...cmds[k]]));
  }
  return { runs, nodeMs: median(samples.node), versionMs: median(samples.version), helpMs: median(samples.help), samples };
}
