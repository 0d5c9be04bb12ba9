/** Run `check` over several server names concurrently (bounded), then judge into one report. */
import type { Report } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import { gatherServer, prepare } from './gather.js';
import { buildReport, judgeServer } from './judge.js';
import type { RunOptions } from './options.js';

export async function runServers(names: string[], opts: RunOptions, concurrency = 8): Promise<{ report: Report; evidence: ServerEvidence[] }> {
  const prep = prepare(opts);
  const evidence: ServerEvidence[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      evidence[i] = await gatherServer(names[i]!, opts, prep);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  const report = buildReport(evidence.map(judgeServer));
  return { report, evidence };
}
