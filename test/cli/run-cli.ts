/** Spawn the built CLI (`node bin/fedcheck.js …`) the way a user or a CI job does: pipes, no TTY. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project root (this file runs from dist/test/cli/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/fedcheck.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run the CLI with `args`. The environment is the test's, minus everything that changes how
 * output looks (colour variables, GitHub Actions), plus FEDCHECK_LOOPBACK_ONLY; `env` entries
 * override, and an `undefined` value removes a variable.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const base: Record<string, string | undefined> = { ...process.env, FEDCHECK_LOOPBACK_ONLY: '1' };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'CI', 'FEDCHECK_DEBUG']) delete base[k];
  const full: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...base, ...env })) if (v !== undefined) full[k] = v;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fedcheck ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
