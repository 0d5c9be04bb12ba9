/** `fedcheck check`: validate input (exit 2 on bad input), gather concurrently, judge, render. */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { CheckCliOptions, OutputOptions } from './main.js';
import { ExitError } from './main.js';
import { isServerNameError, parseServerName } from '../core/server-name.js';
import { sanitize } from '../core/sanitize.js';
import type { RunOptions } from '../run/options.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { Report } from '../core/types.js';
import { shouldColour } from '../report/colour.js';
import { VERSION } from '../version.js';
import { emit } from './output.js';
import { makeTracer } from './trace.js';
import { Progress } from './progress.js';

export function parseTimeout(s: string): number {
  if (!/^\d+(\.\d+)?$/.test(s.trim()) || +s <= 0 || +s > 3600) throw new ExitError(`--timeout "${sanitize(s, 40)}" is not a number of seconds between 0 and 3600`, 2);
  return Math.round(+s * 1000);
}

export function readNames(names: string[], fromFile?: string): string[] {
  const all = [...names];
  if (fromFile) {
    let text: string;
    try {
      text = readFileSync(fromFile === '-' ? 0 : fromFile, 'utf8');
    } catch (e) {
      throw new ExitError(`--from-file ${fromFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
    }
    for (const line of text.split(/\r?\n/)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) all.push(t);
    }
  }
  return all;
}

/** Every name must parse before any traffic is sent: bad input is exit 2 with one clear line. */
export function validateNames(names: string[]): void {
  if (names.length === 0) throw new ExitError('no server name given (usage: fedcheck check <server_name...>)', 2);
  for (const n of names) {
    const p = parseServerName(n);
    if (isServerNameError(p)) throw new ExitError(`invalid server name ${JSON.stringify(sanitize(n, 80))}: ${p.error}`, 2);
  }
}

export function runOptionsFrom(opts: CheckCliOptions): RunOptions {
  return {
    resolvers: opts.resolver ?? [],
    resolve: opts.resolve ?? [],
    connectTo: opts.connectTo ?? [],
    cacert: opts.cacert ?? [],
    family: opts.ipv4 ? 4 : opts.ipv6 ? 6 : 0,
    timeoutMs: parseTimeout(opts.timeout),
    backend: opts.backend ?? null,
  };
}

export async function runCheckCommand(names: string[], opts: CheckCliOptions): Promise<number> {
  const all = readNames(names, opts.fromFile);
  validateNames(all);
  const run = runOptionsFrom(opts);
  if (run.backend) {
    try {
      const u = new URL(run.backend);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ExitError(`--backend "${sanitize(run.backend, 80)}" is not an http:// or https:// URL`, 2);
    }
  }
  for (const r of run.resolvers) validateResolver(r);
  // --resolve, --connect-to and --cacert are parsed (and the CA files read) before anything is sent.
  const { prepare } = await import('../run/gather.js');
  try {
    prepare(run);
  } catch (e) {
    if ((e as Error)?.constructor?.name === 'OptionError') throw new ExitError((e as Error).message, 2);
    throw e;
  }
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw new ExitError(`--concurrency "${sanitize(opts.concurrency, 20)}" must be a whole number from 1 to 1000`, 2);
  preflightOutputs(opts);
  const { report, evidence } = await runWithTerminal(all, run, concurrency, opts);
  return emit(report, evidence, opts);
}

/**
 * Run the checks with the terminal niceties: the --verbose trace and, when stderr is a terminal,
 * the progress line (nothing at all when stderr is piped). Shared by `check` and `demo`.
 */
export async function runWithTerminal(
  names: string[],
  run: RunOptions,
  concurrency: number,
  opts: OutputOptions,
  progress: Progress | null = makeProgress(opts),
): Promise<{ report: Report; evidence: ServerEvidence[] }> {
  const { runServers } = await import('../run/run.js');
  const tracer = opts.verbose ? makeTracer(progress ? (l: string) => progress.log(l) : process.stderr) : null;
  if (tracer || progress) {
    const outer = run.trace;
    run = {
      ...run,
      trace: (server, e) => {
        outer?.(server, e);
        tracer?.(server, e);
        progress?.trace(server, e);
      },
    };
  }
  if (tracer) {
    const via = run.resolvers.length > 0 ? run.resolvers.join(', ') : 'the system resolver';
    const line = `* fedcheck ${VERSION}: ${names.length} server name${names.length === 1 ? '' : 's'}, DNS via ${via}, deadline ${run.timeoutMs / 1000} s per server name`;
    if (progress) progress.log(line);
    else process.stderr.write(line + '\n');
  }
  progress?.setTotal(names.length);
  // Ctrl-C while the progress line is up: erase it, so the shell prompt starts on a clean line.
  const onSigint = () => {
    progress?.stop();
    process.stderr.write('fedcheck: interrupted\n');
    process.exit(130);
  };
  if (progress) process.once('SIGINT', onSigint);
  try {
    // Each name's evidence is dropped once judged unless --save-evidence will write it.
    return await runServers(names, run, concurrency, progress ? { onStart: (n) => progress.start(n), onDone: (n) => progress.finish(n) } : {}, { keepEvidence: opts.saveEvidence !== undefined });
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
  }
}

/** The progress line, when stderr is a terminal; null otherwise (nothing extra when piped). */
export function makeProgress(opts: OutputOptions): Progress | null {
  if (!process.stderr.isTTY || process.env.FEDCHECK_NO_PROGRESS) return null;
  const colour = shouldColour(process.stderr, process.env, typeof opts.color === 'boolean' ? opts.color : undefined);
  return new Progress(process.stderr, colour);
}

/**
 * --junit and --save-evidence files are written after the run: make sure they can be, before
 * anything is sent (exit 2 is for bad input detected before the run).
 */
export function preflightOutputs(opts: OutputOptions): void {
  for (const [flag, file] of [['--junit', opts.junit], ['--save-evidence', opts.saveEvidence]] as const) {
    if (file === undefined) continue;
    if (file === '') throw new ExitError(`${flag}: an empty file name`, 2);
    try {
      if (existsSync(file)) {
        if (statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
        accessSync(file, constants.W_OK);
      } else {
        accessSync(dirname(resolvePath(file)), constants.W_OK);
      }
    } catch (e) {
      throw new ExitError(`${flag} ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
    }
  }
}

export function validateResolver(r: string): void {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3}))(?::(\d{1,5}))?$/.exec(r) ?? /^([0-9a-fA-F:]+)$/.exec(r);
  if (!m) throw new ExitError(`--resolver "${sanitize(r, 60)}" is not an IP address with an optional port (IPv6 as [addr]:port)`, 2);
  const port = m[3];
  if (port !== undefined && (+port < 1 || +port > 65535)) throw new ExitError(`--resolver "${sanitize(r, 60)}": port out of range`, 2);
}
