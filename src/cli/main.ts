/**
 * The thin CLI layer: parse flags, build the run options, run, render, map to an exit code.
 * Heavy modules (undici, the lab, node-forge) are imported lazily by the command that needs them,
 * so `fedcheck --version` and `check --help` start as fast as node itself.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { DEFAULT_TIMEOUT_S } from '../run/options.js';

/** An error with an exit code and one clear line for stderr. */
export class ExitError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export interface OutputOptions {
  json?: boolean;
  junit?: string;
  markdown?: boolean;
  /** --color → true, --no-color → false, neither → undefined (NO_COLOR / FORCE_COLOR / TTY decide) */
  color?: boolean;
  verbose?: boolean;
  saveEvidence?: string;
  /** detail every server even when there are many */
  full?: boolean;
}

export interface CheckCliOptions extends OutputOptions {
  resolver?: string[];
  resolve?: string[];
  connectTo?: string[];
  cacert?: string[];
  backend?: string;
  timeout: string;
  ipv4?: boolean;
  ipv6?: boolean;
  fromFile?: string;
  concurrency: string;
}

/** Options of every command that prints a report (check, demo, judge). */
function addReportOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--json', 'print the JSON report (schema: docs/report.schema.json) instead of text').conflicts('markdown'))
    .option('--junit <file>', 'also write a JUnit XML report to <file> (one testcase per check and target)')
    .addOption(new Option('--markdown', 'print a Markdown report for a support ticket or issue (credentials redacted)').conflicts('json'))
    .option('--full', 'detail every server (by default, from 10 servers on only those with problems are detailed)')
    .option('--color', 'colour even when stdout is not a terminal')
    .option('--no-color', 'no colour, even on a terminal (NO_COLOR and FORCE_COLOR are honoured too)');
}

/** Options of the commands that run checks (check, demo). */
function addOutputOptions(cmd: Command): Command {
  return addReportOptions(cmd)
    .option('-v, --verbose', 'trace every DNS query, connection and request on stderr, with timings')
    .option('--save-evidence <file>', 'write everything the probes gathered to <file>, for `fedcheck judge`');
}

function addNetworkOptions(cmd: Command): Command {
  return cmd
    .option('--resolver <addr[:port]>', 'send every DNS query to this server (repeatable; IPv6 as [addr]:port); no system resolver', collect)
    .option('--resolve <host:port:addr>', 'as curl: connections to host:port go to addr, no DNS lookup (repeatable)', collect)
    .option('--connect-to <host:port:chost:cport>', 'as curl: connections to host:port go to chost:cport; TLS name and Host unchanged (repeatable)', collect)
    .option('--cacert <file>', 'also trust the CA certificates in this PEM file (repeatable)', collect)
    .option('--backend <url>', "the homeserver's own listener behind the proxy, e.g. http://127.0.0.1:8008")
    .option('--timeout <seconds>', 'deadline for each server name (with one name, for the whole run)', String(DEFAULT_TIMEOUT_S))
    .addOption(new Option('-4, --ipv4', 'use only IPv4 addresses').conflicts('ipv6'))
    .addOption(new Option('-6, --ipv6', 'use only IPv6 addresses').conflicts('ipv4'));
}

export function buildProgram(): Command {
  const program = new Command('fedcheck')
    .description('Can other Matrix servers and clients find and talk to this homeserver? If not, what exactly must be fixed?')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`fedcheck: ${(str.split('\n')[0] ?? '').replace(/^error:\s*/, '')}\n`) });

  const check = program
    .command('check')
    .description('resolve each server name as a homeserver does and check every address, certificate and the reverse proxy')
    .argument('[server_name...]', 'server names, e.g. example.com, matrix.example.com:8448, [2001:db8::1]')
    .option('--from-file <file>', 'read server names from a file (one per line, # comments)')
    .option('--concurrency <n>', 'server names checked at once', '8');
  addNetworkOptions(check);
  addOutputOptions(check);
  check.exitOverride().action(async (names: string[], opts: CheckCliOptions) => {
    const { runCheckCommand } = await import('./check.js');
    process.exitCode = await runCheckCommand(names, opts);
  });

  const demo = program
    .command('demo')
    .description('run `check` against the built-in lab deployment (default: a healthy setup delegated through /.well-known/matrix/server)')
    .argument('[scenario]', 'lab scenario (see --list)')
    .option('--list', 'list the scenarios')
    .option('--rtt <ms>', 'simulate this network round-trip time in the lab', '0')
    .option('--timeout <seconds>', 'deadline for the check', String(DEFAULT_TIMEOUT_S));
  addOutputOptions(demo);
  demo.exitOverride().action(async (scenario: string | undefined, opts: OutputOptions & { list?: boolean; rtt: string; timeout: string }) => {
    const { runDemoCommand } = await import('./demo.js');
    process.exitCode = await runDemoCommand(scenario, opts);
  });

  program
    .command('backend')
    .description('run the stand-in homeserver backend to put behind a reverse proxy (echoes what the proxy forwards)')
    .option('--listen <addr:port>', 'address to listen on', '127.0.0.1:8008')
    .option('--server-name <name>', 'the server name it answers for', 'localhost')
    .exitOverride()
    .action(async (opts: { listen: string; serverName: string }) => {
      const { runBackendCli } = await import('./backend.js');
      process.exitCode = await runBackendCli(opts);
    });

  const judge = program
    .command('judge')
    .description('re-run the checks offline on an evidence bundle written by --save-evidence, and print the same report')
    .argument('<file>', 'evidence bundle');
  addReportOptions(judge)
    .exitOverride()
    .action(async (file: string, opts: OutputOptions) => {
      const { runJudgeCommand } = await import('./judge.js');
      process.exitCode = await runJudgeCommand(file, opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit 0; every usage error is exit 2 (the message was printed).
      process.exitCode = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
      return;
    }
    if (e instanceof ExitError) {
      process.stderr.write(`fedcheck: ${e.message}\n`);
      process.exitCode = e.code;
      return;
    }
    const name = (e as Error)?.constructor?.name;
    if (name === 'OptionError') {
      process.stderr.write(`fedcheck: ${(e as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`fedcheck: internal error: ${(e as Error)?.message ?? String(e)} (fedcheck ${VERSION}, node ${process.version}; please report this)\n`);
    if (process.env.FEDCHECK_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    process.exitCode = 70;
  }
}
