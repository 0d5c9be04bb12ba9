/**
 * Render one report in the format the options ask for, write the side files (evidence bundle,
 * JUnit), add GitHub Actions annotations when running under Actions, and return the exit code.
 * Shared by `check`, `demo` and `judge`, so every format works the same from all three.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { Report } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { VERSION } from '../version.js';

export interface EvidenceBundle {
  bundleVersion: 1;
  tool: { name: 'fedcheck'; version: string };
  /** the report's generatedAt: `judge` gives its report the same time */
  createdAt: string;
  servers: ServerEvidence[];
}

/** Exit code of a finished run (CONTRACT.md): 0 no check failed, 1 at least one failed. */
export function exitCodeOf(report: Report): number {
  return report.ok ? 0 : 1;
}

/** The bundle `--save-evidence` writes and `judge` reads. */
export function evidenceBundle(report: Report, evidence: ServerEvidence[]): EvidenceBundle {
  return { bundleVersion: 1, tool: { name: 'fedcheck', version: VERSION }, createdAt: report.generatedAt, servers: evidence };
}

/** Colour for a stream: --color / --no-color, then NO_COLOR, FORCE_COLOR, then "is it a TTY". */
export async function colourFor(stream: { isTTY?: boolean }, opts: Pick<OutputOptions, 'color'>): Promise<boolean> {
  const { shouldColour } = await import('../report/colour.js');
  return shouldColour(stream, process.env, typeof opts.color === 'boolean' ? opts.color : undefined);
}

/** The report as the text that goes to stdout, per the options (text, --json or --markdown). */
export async function renderFor(report: Report, opts: OutputOptions, stdout: { isTTY?: boolean; columns?: number } = process.stdout): Promise<string> {
  if (opts.json) {
    const { renderJson } = await import('../report/json.js');
    return renderJson(report);
  }
  if (opts.markdown) {
    const { renderMarkdown } = await import('../report/markdown.js');
    return renderMarkdown(report, { full: !!opts.full });
  }
  const { renderText } = await import('../report/text.js');
  const colour = await colourFor(stdout, opts);
  const columns = stdout.isTTY && stdout.columns ? stdout.columns : 100;
  return renderText(report, { colour, width: Math.max(60, Math.min(columns, 140)), full: !!opts.full });
}

export async function emit(report: Report, evidence: ServerEvidence[] | null, opts: OutputOptions): Promise<number> {
  if (opts.saveEvidence && evidence) {
    // Bidi, C1 and DEL bytes a server sent stay escaped in the file (JSON.stringify escapes only C0).
    const { escapeRiskyJson } = await import('../report/json.js');
    write(opts.saveEvidence, escapeRiskyJson(JSON.stringify(evidenceBundle(report, evidence), null, 1)) + '\n', '--save-evidence');
  }
  if (opts.junit) {
    const { renderJunit } = await import('../report/junit.js');
    write(opts.junit, renderJunit(report), '--junit');
  }
  if (opts.json) {
    const { writeJson } = await import('../report/json.js');
    await writeJson(report, process.stdout);
  } else {
    const out = await renderFor(report, opts);
    process.stdout.write(out.endsWith('\n') ? out : out + '\n');
  }
  if (process.env.GITHUB_ACTIONS === 'true') await githubActions(report);
  return exitCodeOf(report);
}

/**
 * Under GitHub Actions: one ::error / ::warning annotation per failed / warning finding, on
 * stderr (the runner reads workflow commands from both streams; stdout stays the report, so
 * `--json > report.json` still holds only JSON), and the Markdown report appended to the job
 * summary ($GITHUB_STEP_SUMMARY) when the runner provides one.
 */
async function githubActions(report: Report): Promise<void> {
  const { renderGithubAnnotations } = await import('../report/github.js');
  const ann = renderGithubAnnotations(report);
  if (ann) process.stderr.write(ann.endsWith('\n') ? ann : ann + '\n');
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) {
    const { renderMarkdown } = await import('../report/markdown.js');
    try {
      appendFileSync(summary, renderMarkdown(report) + '\n');
    } catch {
      // the job summary is a convenience: never fail the run over it
    }
  }
}

function write(file: string, text: string, what: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new ExitError(`${what} ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
  }
}
