/** Run `check` over several server names concurrently (bounded), then judge into one report. */
import type { Report } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import { gatherServer, prepare } from './gather.js';
import { buildReport, judgeServer } from './judge.js';
import type { RunOptions } from './options.js';

/** Optional observers (the CLI's progress line). They must not throw. */
export interface RunHooks {
  onStart?(name: string, index: number): void;
  onDone?(name: string, index: number, evidence: ServerEvidence): void;
}

export async function runServers(names: string[], opts: RunOptions, concurrency = 8, hooks: RunHooks = {}): Promise<{ report: Report; evidence: ServerEvidence[] }> {
  const prep = prepare(opts);
  const evidence: ServerEvidence[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      hooks.onStart?.(names[i]!, i);
      evidence[i] = await gatherServer(names[i]!, opts, prep);
      hooks.onDone?.(names[i]!, i, evidence[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  const report = buildReport(evidence.map(judgeServer));
  return { report, evidence };
}
