/**
 * The human-readable report. Pure: Report in, string out. Colour only through paint() and only
 * when asked; cli-table3's own styling is always switched off (it colours even when piped).
 */
import Table from 'cli-table3';
import type { Finding, Report, Resolution, ResolutionTarget, ServerReport } from '../core/types.js';
import { clean, displayWidth, wrapText } from './clean.js';
import { paint, type Paint } from './colour.js';
import { groupByStage, STAGE_TITLES, type StageGroup } from './stages.js';

export interface TextOptions {
  colour: boolean;
  /** terminal width in columns (default 100, at least 40 is assumed) */
  width?: number;
  /**
   * Detail every server. By default a report of BRIEF_FROM servers or more details only the
   * servers with a failed check (the summary table lists them all) and says so.
   */
  full?: boolean;
}

/** From this many servers on, only the servers with problems are detailed (unless `full`). */
export const BRIEF_FROM = 10;

/** Which servers a human-facing report details, and the note that says what was left out. */
export function serversToDetail(servers: readonly ServerReport[], full: boolean): { shown: ServerReport[]; note: string | null } {
  if (full || servers.length < BRIEF_FROM) return { shown: [...servers], note: null };
  const shown = servers.filter((s) => !s.ok);
  const hidden = servers.length - shown.length;
  const warned = servers.filter((s) => s.ok && counts(s).warn > 0).length;
  const what =
    shown.length === 0
      ? `No server has a failed check, so none is detailed`
      : `Details are shown only for the ${shown.length === 1 ? 'server' : `${shown.length} servers`} with problems`;
  const rest = hidden > 0 && shown.length > 0 ? `; the other ${hidden} passed` : '';
  const warnings = warned > 0 ? ` (${warned} of them with warnings, counted in the table)` : '';
  return { shown, note: `${what}${rest}${warnings}. Use --full to detail every server.` };
}

const DEFAULT_WIDTH = 100;
const MIN_WIDTH = 40;

const STATUS_BADGE: Readonly<Record<string, { symbol: string; word: string }>> = {
  pass: { symbol: '✔', word: 'PASS' },
  fail: { symbol: '✖', word: 'FAIL' },
  warn: { symbol: '!', word: 'WARN' },
  skip: { symbol: '–', word: 'SKIP' },
  info: { symbol: 'i', word: 'INFO' },
};

/** Plain-words description of each resolution method (spec §1.1 step). */
export const METHOD_WORDS: Readonly<Record<string, string>> = {
  'ip-literal': 'the server name is an IP literal',
  'explicit-port': 'the server name has an explicit port',
  'well-known-ip-literal': '/.well-known/matrix/server delegates to an IP literal',
  'well-known-explicit-port': '/.well-known/matrix/server delegates to a name with an explicit port',
  'well-known-srv': '/.well-known/matrix/server delegation, then SRV _matrix-fed._tcp',
  'well-known-srv-legacy': '/.well-known/matrix/server delegation, then deprecated SRV _matrix._tcp',
  'well-known-default-port': '/.well-known/matrix/server delegation, then port 8448 (no SRV record)',
  srv: 'SRV record _matrix-fed._tcp',
  'srv-legacy': 'deprecated SRV record _matrix._tcp',
  'default-port': 'no delegation: the server name on port 8448',
};

/** Own-property lookup: report text must never reach Object.prototype members ("constructor"...). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

export function renderText(report: Report, options: TextOptions): string {
  const p = paint(options.colour);
  const requested = options.width ?? DEFAULT_WIDTH;
  const width = Number.isFinite(requested) ? Math.max(MIN_WIDTH, Math.min(Math.floor(requested), 1000)) : DEFAULT_WIDTH;
  const servers = Array.isArray(report.servers) ? report.servers : [];
  const out: string[] = [];

  const version = clean(report.tool?.version);
  const generated = clean(report.generatedAt);
  out.push(...block(`fedcheck${version ? ' ' + version : ''}${generated ? ' · ' + generated : ''}`, width, p.dim));

  if (servers.length > 1) {
    out.push('', renderSummaryTable(servers, p, width));
  }
  const { shown, note } = serversToDetail(servers, options.full === true);
  if (note) out.push('', ...block(note, width, p.dim));
  for (const server of shown) {
    out.push('', ...renderServer(server, p, width));
  }
  if (servers.length === 0) out.push('', 'no servers were checked');
  if (servers.length > 1) {
    const bad = servers.filter((s) => !s.ok).length;
    out.push(
      '',
      ...(bad === 0
        ? block(`all ${servers.length} servers: federation OK`, width, (l) => p.green(p.bold(l)))
        : block(`${bad} of ${servers.length} servers have problems`, width, (l) => p.red(p.bold(l)))),
    );
  }
  return out.join('\n') + '\n';
}

function counts(server: ServerReport): { fail: number; warn: number } {
  const checks = Array.isArray(server.checks) ? server.checks : [];
  return {
    fail: checks.filter((c) => c.status === 'fail').length,
    warn: checks.filter((c) => c.status === 'warn').length,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function verdictWords(server: ServerReport): string {
  const { fail, warn } = counts(server);
  if (server.ok) return warn > 0 ? `federation OK (${plural(warn, 'warning')})` : 'federation OK';
  const problems = fail > 0 ? plural(fail, 'problem') : 'federation NOT OK';
  return warn > 0 ? `${problems}, ${plural(warn, 'warning')}` : problems;
}

function newTable(colWidths: number[], head?: string[]): Table.Table {
  return new Table({
    ...(head ? { head } : {}),
    colWidths,
    wordWrap: true,
    style: { head: [], border: [] },
  });
}

/** Wrap a paragraph to `width` and colour each line separately (colour never spans a newline). */
function block(text: string, width: number, colour: (s: string) => string = (s) => s): string[] {
  return wrapText(text, width).map((l) => colour(l));
}

/**
 * Summaries are one-liners; a longer one (a hostile server's text) is clipped in the table, where
 * cli-table3's cost grows with the square of a cell's size. The JSON report keeps it whole.
 */
const MAX_CELL_CHARS = 600;
function clip(text: string): string {
  return text.length <= MAX_CELL_CHARS ? text : `${text.slice(0, MAX_CELL_CHARS)}… (${text.length} characters; the whole text is in --json)`;
}

/** Cell content pre-wrapped to the column's inner width, so cli-table3 never truncates. */
function cell(text: string, colWidth: number): string {
  return wrapText(text, colWidth - 2).join('\n');
}

function renderSummaryTable(servers: ServerReport[], p: Paint, width: number): string {
  const countW = 6;
  const verdictW = 9;
  const nameW = Math.max(8, Math.min(width - 5 - verdictW - 2 * countW, 50));
  const t = newTable([nameW, verdictW, countW, countW], [p.bold('server'), p.bold('verdict'), p.bold('fail'), p.bold('warn')]);
  for (const s of servers) {
    const { fail, warn } = counts(s);
    t.push([
      cell(clean(s.serverName), nameW),
      s.ok ? p.green('OK') : p.red('FAIL'),
      fail > 0 ? p.red(String(fail)) : '0',
      warn > 0 ? p.yellow(String(warn)) : '0',
    ]);
  }
  return t.toString();
}

function renderServer(server: ServerReport, p: Paint, width: number): string[] {
  const out: string[] = [];
  const name = clean(server.serverName);
  const input = server.input === undefined ? '' : clean(server.input);
  const header = input !== '' && input !== name ? `${input} → ${name}` : name;
  out.push(...block(header, width, (l) => p.bold(p.cyan(l))));
  out.push(...renderResolution(server.resolution, p, width));

  const checks = Array.isArray(server.checks) ? server.checks : [];
  if (checks.length === 0) {
    out.push('', p.dim('no checks ran'));
  }
  for (const group of groupByStage(checks)) {
    out.push('', ...renderGroup(group, p, width));
  }

  const duration =
    typeof server.durationMs === 'number' && Number.isFinite(server.durationMs)
      ? ` (${(server.durationMs / 1000).toFixed(1)} s)`
      : '';
  const colourVerdict = server.ok ? (l: string) => p.green(p.bold(l)) : (l: string) => p.red(p.bold(l));
  out.push('', ...block(`${name}: ${verdictWords(server)}${duration}`, width, colourVerdict));
  return out;
}

/** host:port with IPv6 literals bracketed. */
export function hostPort(host: string, port: unknown): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h}:${clean(port)}`;
}

function labelled(label: string, value: string, width: number, labelW: number): string[] {
  const indent = '  ';
  const lines = wrapText(value, width - indent.length - labelW - 1);
  return lines.map((l, i) => `${indent}${(i === 0 ? label : '').padEnd(labelW)} ${l}`);
}

function renderResolution(resolution: Resolution | null, p: Paint, width: number): string[] {
  if (!resolution || typeof resolution !== 'object') {
    return block('resolution could not complete (see the discovery checks)', width - 2, p.yellow).map((l) => '  ' + l);
  }
  const labelW = 13;
  const method = clean(resolution.method);
  const words = lookup(METHOD_WORDS, method);
  const out: string[] = [];
  out.push(...labelled('resolved by', words ? `${words} (${method})` : method, width, labelW));
  out.push(
    ...labelled(
      'delegated to',
      resolution.delegatedServerName === null || resolution.delegatedServerName === undefined
        ? 'no delegation'
        : clean(resolution.delegatedServerName),
      width,
      labelW,
    ),
  );
  out.push(...labelled('Host header', clean(resolution.hostHeader), width, labelW));
  const sni =
    resolution.tlsServerName === null || resolution.tlsServerName === undefined
      ? 'none (IP certificate)'
      : clean(resolution.tlsServerName);
  out.push(...labelled('TLS name/SNI', sni, width, labelW));
  if (resolution.certificateName !== undefined && clean(resolution.certificateName) !== clean(resolution.tlsServerName)) {
    out.push(...labelled('certificate', `must be valid for ${clean(resolution.certificateName)}`, width, labelW));
  }
  const targets: ResolutionTarget[] = Array.isArray(resolution.targets) ? resolution.targets : [];
  if (targets.length === 0) {
    out.push(...labelled('targets', 'none', width, labelW));
  }
  targets.forEach((t, i) => {
    const addrs = Array.isArray(t.addresses) ? t.addresses.map((a) => clean(a)) : [];
    const text = `${i + 1}. ${hostPort(clean(t.host), t.port)} → ${addrs.length > 0 ? addrs.join(', ') : 'no addresses'}`;
    out.push(...labelled(i === 0 ? 'targets' : '', text, width, labelW));
  });
  return out;
}

function badge(status: string, p: Paint, colWidth: number): string {
  const b = lookup(STATUS_BADGE, status);
  if (!b) return p.yellow(cell(`? ${clean(status).toUpperCase()}`, colWidth));
  const text = `${b.symbol} ${b.word}`;
  switch (status) {
    case 'pass':
      return p.green(text);
    case 'fail':
      return p.red(p.bold(text));
    case 'warn':
      return p.yellow(text);
    case 'skip':
      return p.dim(text);
    default:
      return p.cyan(text);
  }
}

function findingLabel(f: Finding): string {
  const target = typeof f.target === 'string' ? ` @ ${clean(f.target)}` : '';
  return `${clean(f.id)}${target}`;
}

function renderGroup(group: StageGroup, p: Paint, width: number): string[] {
  const title =
    group.target !== undefined ? `${STAGE_TITLES[group.stage]}: ${clean(group.target)}` : STAGE_TITLES[group.stage];
  const out: string[] = block(title, width, p.bold);

  // Show a target column only when the heading does not already name the target.
  const showTarget = group.findings.some((f) => typeof f.target === 'string' && f.target !== group.target);
  const statusW = 8;
  const borders = showTarget ? 5 : 4;
  const available = width - borders - statusW;
  const longestId = Math.max(5, ...group.findings.map((f) => displayWidth(clean(f.id))));
  let checkW = Math.min(longestId, 20) + 2;
  let targetW = 0;
  if (showTarget) {
    const longestTarget = Math.max(6, ...group.findings.map((f) => displayWidth(clean(f.target))));
    targetW = Math.min(longestTarget, 24) + 2;
  }
  if (checkW + targetW + 24 > available) {
    // narrow terminal: give the summary at least half of the room
    const cap = Math.max(8, Math.floor(available / (showTarget ? 4 : 3)));
    checkW = Math.min(checkW, cap);
    if (showTarget) targetW = Math.min(targetW, cap);
  }
  const summaryW = Math.max(8, available - checkW - targetW);
  const colWidths = showTarget ? [statusW, checkW, targetW, summaryW] : [statusW, checkW, summaryW];

  const t = newTable(colWidths);
  for (const f of group.findings) {
    const row = [badge(f.status, p, statusW), cell(clean(f.id), checkW)];
    if (showTarget) row.push(cell(clean(f.target), targetW));
    row.push(cell(clip(clean(f.summary)), summaryW));
    t.push(row);
  }
  out.push(t.toString());

  // Hints of everything that did not pass, under the table, wrapped for copying.
  for (const f of group.findings) {
    if (f.status === 'pass') continue;
    const hint = clean(f.hint, { keepNewlines: true }).trim();
    if (hint === '') continue;
    const b = lookup(STATUS_BADGE, f.status);
    const symbol = b ? b.symbol : '?';
    const lead = `${symbol} ${findingLabel(f)} → how to fix: `;
    const lines = wrapText(lead + hint, width - 4);
    out.push(
      ...lines.map((l, i) => {
        if (i > 0) return l === '' ? '' : '    ' + l;
        const colouredLead = f.status === 'fail' ? p.red(symbol) : f.status === 'warn' ? p.yellow(symbol) : symbol;
        return '  ' + colouredLead + l.slice(symbol.length);
      }),
    );
  }
  return out;
}
