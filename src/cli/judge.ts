/**
 * `fedcheck judge <bundle>`: the checks re-run offline on saved evidence (Lighthouse's
 * gather/audit split). Judging is pure and the bundle carries the run's time, so the report is
 * the one the run that saved the bundle printed — byte for byte in --json.
 */
import { readFileSync } from 'node:fs';
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { emit, type EvidenceBundle } from './output.js';
import { buildReport, judgeServer } from '../run/judge.js';
import type { Report } from '../core/types.js';
import { sanitize } from '../core/sanitize.js';
import { preflightOutputs } from './check.js';

/** Parse and sanity-check a bundle; one clear line (exit 2) when it is not one. */
export function readBundle(file: string): EvidenceBundle {
  let bundle: EvidenceBundle;
  try {
    bundle = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as EvidenceBundle;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e instanceof SyntaxError ? 'not JSON' : (e as Error).message);
    throw new ExitError(`${sanitize(file, 200)}: not a readable evidence bundle (${sanitize(String(why), 100)})`, 2);
  }
  if (!bundle || typeof bundle !== 'object' || bundle.bundleVersion !== 1 || !Array.isArray(bundle.servers)) {
    throw new ExitError(`${sanitize(file, 200)}: not a fedcheck evidence bundle (bundleVersion 1, written by --save-evidence)`, 2);
  }
  if (typeof bundle.createdAt !== 'string' || Number.isNaN(Date.parse(bundle.createdAt))) {
    throw new ExitError(`${sanitize(file, 200)}: the evidence bundle has no valid createdAt time`, 2);
  }
  for (const [i, s] of bundle.servers.entries()) {
    if (!s || typeof s !== 'object' || s.evidenceVersion !== 1 || typeof s.input !== 'string' || !s.options || typeof s.parsed !== 'object') {
      throw new ExitError(`${sanitize(file, 200)}: server ${i + 1} of the bundle is not evidenceVersion 1`, 2);
    }
  }
  return bundle;
}

/** The report a bundle gives: the same as the run that wrote it. */
export function judgeBundle(bundle: EvidenceBundle): Report {
  return buildReport(bundle.servers.map(judgeServer), new Date(bundle.createdAt));
}

export async function runJudgeCommand(file: string, opts: OutputOptions): Promise<number> {
  const bundle = readBundle(file);
  preflightOutputs(opts);
  return emit(judgeBundle(bundle), null, { ...opts, saveEvidence: undefined });
}
