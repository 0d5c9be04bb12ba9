/** Render one report in the format the options ask for, write side files, return the exit code. */
import { writeFileSync } from 'node:fs';
import type { Report } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { VERSION } from '../version.js';

export interface EvidenceBundle {
  bundleVersion: 1;
  tool: { name: 'fedcheck'; version: string };
  createdAt: string;
  servers: ServerEvidence[];
}

export function exitCodeOf(report: Report): number {
  return report.ok ? 0 : 1;
}

export async function emit(report: Report, evidence: ServerEvidence[] | null, opts: OutputOptions): Promise<number> {
  if (opts.saveEvidence && evidence) {
    const bundle: EvidenceBundle = { bundleVersion: 1, tool: { name: 'fedcheck', version: VERSION }, createdAt: report.generatedAt, servers: evidence };
    write(opts.saveEvidence, JSON.stringify(bundle, null, 1) + '\n', '--save-evidence');
  }
  if (opts.junit) {
    const { renderJunit } = await import('../report/junit.js');
    write(opts.junit, renderJunit(report), '--junit');
  }
  let out: string;
  if (opts.json) {
    const { renderJson } = await import('../report/json.js');
    out = renderJson(report);
  } else if (opts.markdown) {
    const { renderMarkdown } = await import('../report/markdown.js');
    out = renderMarkdown(report);
  } else {
    const { renderText } = await import('../report/text.js');
    const { shouldColour } = await import('../report/colour.js');
    const colour = shouldColour(process.stdout, process.env, opts.color === false ? false : undefined);
    out = renderText(report, { colour, width: Math.max(60, Math.min(process.stdout.columns || 100, 140)) });
  }
  process.stdout.write(out.endsWith('\n') ? out : out + '\n');
  if (process.env.GITHUB_ACTIONS === 'true' && !opts.json) {
    const { renderGithubAnnotations } = await import('../report/github.js');
    const ann = renderGithubAnnotations(report);
    if (ann) process.stdout.write(ann.endsWith('\n') ? ann : ann + '\n');
  }
  return exitCodeOf(report);
}

function write(file: string, text: string, what: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new ExitError(`${what} ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
  }
}
