/** `fedcheck judge <bundle>`: the checks re-run offline on saved evidence. */
import { readFileSync } from 'node:fs';
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { emit, type EvidenceBundle } from './output.js';
import { buildReport, judgeServer } from '../run/judge.js';

export async function runJudgeCommand(file: string, opts: OutputOptions): Promise<number> {
  let bundle: EvidenceBundle;
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8')) as EvidenceBundle;
  } catch (e) {
    throw new ExitError(`${file}: not a readable evidence bundle (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
  }
  if (!bundle || bundle.bundleVersion !== 1 || !Array.isArray(bundle.servers)) {
    throw new ExitError(`${file}: not a fedcheck evidence bundle (bundleVersion 1)`, 2);
  }
  const report = buildReport(bundle.servers.map(judgeServer), new Date(bundle.createdAt));
  return emit(report, null, { ...opts, saveEvidence: undefined });
}
