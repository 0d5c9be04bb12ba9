/**
 * The progress line on stderr while checks run — only when stderr is a terminal (the caller
 * decides), one line rewritten in place:
 *
 *   checking example.org… well-known ✔ srv ✔ 3/4 addresses
 *   [12/50 done] checking s13.example.org… well-known ✔ srv – 1/2 addresses (+7 more running)
 *
 * It is fed by the run's trace events (which request or lookup finished) and the runner's
 * start/done hooks. Other stderr output (the --verbose trace) goes through `log()`, which clears
 * the line, prints, and redraws it. `stop()` erases it before the report is printed.
 */
import type { TraceEvent } from '../net/http.js';
import { sanitize } from '../core/sanitize.js';
import { isServerNameError, parseServerName } from '../core/server-name.js';
import { displayWidth } from '../report/clean.js';
import { paint, type Paint } from '../report/colour.js';

type Mark = 'pending' | 'ok' | 'none' | 'bad';

interface ServerState {
  label: string;
  wellKnown: Mark | null;
  srv: Mark | null;
  /** address:port → finished? (the federation version request of each address) */
  addresses: Map<string, boolean>;
  /** value of the activity counter at this server's latest event */
  lastActivity: number;
}

export interface ProgressStream {
  write(s: string): boolean;
  columns?: number;
}

const WELL_KNOWN_PATH = '/.well-known/matrix/server';
const VERSION_PATH = '/_matrix/federation/v1/version';
const CLEAR = '\r\u001b[2K';

export class Progress {
  private readonly states = new Map<string, ServerState>();
  private readonly running: string[] = [];
  private done = 0;
  private total = 0;
  private note = '';
  private shown = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private lastDraw = 0;
  /** activity counter: the line follows the server that did something last */
  private tick = 0;
  private readonly p: Paint;

  constructor(private readonly stream: ProgressStream, colour: boolean, private readonly intervalMs = 80) {
    this.p = paint(colour);
  }

  /** A message shown before any server starts (e.g. "starting the lab…"). */
  status(text: string): void {
    this.note = text;
    this.schedule(true);
  }

  setTotal(n: number): void {
    this.total = n;
  }

  /** Runner hook: a server name's checks started. */
  start(input: string): void {
    const key = canonical(input);
    this.note = '';
    if (!this.states.has(key)) this.states.set(key, { label: key, wellKnown: null, srv: null, addresses: new Map(), lastActivity: ++this.tick });
    this.running.push(key);
    this.schedule(true);
  }

  /** Runner hook: a server name's checks finished. */
  finish(input: string): void {
    const key = canonical(input);
    const i = this.running.indexOf(key);
    if (i >= 0) this.running.splice(i, 1);
    this.done++;
    this.schedule(true);
  }

  /** Feed one trace event (the runner labels events with the canonical server name). */
  trace(server: string, e: TraceEvent): void {
    const s = this.states.get(server);
    if (!s) return;
    s.lastActivity = ++this.tick;
    const x = e.exchange;
    if (x && x.path === WELL_KNOWN_PATH) {
      if (e.kind === 'request') s.wellKnown ??= 'pending';
      else if (e.kind === 'response') s.wellKnown = /^<\s*200\b/.test(e.message) ? 'ok' : 'none';
      else if (e.kind === 'error') s.wellKnown = 'none';
    } else if (x && x.path === VERSION_PATH) {
      const key = `${x.address}:${x.port}`;
      if (e.kind === 'request') {
        if (!s.addresses.has(key)) s.addresses.set(key, false);
      } else if (e.kind === 'response' || e.kind === 'error') s.addresses.set(key, true);
    } else if (e.kind === 'dns' && /^SRV _matrix(-fed)?\._tcp\./.test(e.message)) {
      const outcome = /→\s*(\S+)/.exec(e.message)?.[1] ?? '';
      const mark: Mark = /^(nxdomain|nodata)$/.test(outcome) ? 'none' : /^(servfail|refused|timeout|error)$/.test(outcome) ? 'bad' : 'ok';
      // The fed record decides when present; keep the best news.
      if (s.srv !== 'ok') s.srv = mark === 'ok' || s.srv === null || s.srv === 'pending' ? mark : s.srv;
    }
    this.schedule(false);
  }

  /** Print a whole line above the progress line. */
  log(line: string): void {
    if (this.stopped) {
      this.stream.write(line + '\n');
      return;
    }
    this.stream.write((this.shown ? CLEAR : '') + line + '\n');
    this.shown = false;
    this.schedule(false);
  }

  /** Erase the line for good (before the report is printed). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.shown) this.stream.write(CLEAR);
    this.shown = false;
    this.stopped = true;
  }

  /** The current line, uncut (exported for the tests). */
  line(): string {
    const p = this.p;
    const multi = this.total > 1;
    const head = multi ? `[${this.done}/${this.total} done] ` : '';
    if (this.running.length === 0) {
      if (this.note) return head + this.note;
      return multi ? `${head}…` : '';
    }
    // the most recently active running server
    let key = this.running[0]!;
    for (const k of this.running) if ((this.states.get(k)?.lastActivity ?? 0) > (this.states.get(key)?.lastActivity ?? 0)) key = k;
    const s = this.states.get(key)!;
    const parts = [`${head}checking ${sanitize(s.label, 80)}…`];
    const mark = (m: Mark | null) => (m === 'ok' ? p.green('✔') : m === 'bad' ? p.red('✖') : m === 'none' ? p.dim('–') : p.dim('…'));
    if (s.wellKnown) parts.push(`well-known ${mark(s.wellKnown)}`);
    if (s.srv) parts.push(`srv ${mark(s.srv)}`);
    if (s.addresses.size > 0) {
      const finished = [...s.addresses.values()].filter(Boolean).length;
      parts.push(`${finished}/${s.addresses.size} address${s.addresses.size === 1 ? '' : 'es'}`);
    }
    if (this.running.length > 1) parts.push(p.dim(`(+${this.running.length - 1} more running)`));
    return parts.join(' ');
  }

  private schedule(now: boolean): void {
    if (this.stopped) return;
    const due = this.lastDraw + this.intervalMs - Date.now();
    if (now || due <= 0) {
      this.draw();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.draw();
      }, due);
      this.timer.unref();
    }
  }

  private draw(): void {
    if (this.stopped) return;
    this.lastDraw = Date.now();
    const text = fit(this.line(), Math.max(20, (this.stream.columns || 80) - 1));
    this.stream.write(CLEAR + text);
    this.shown = text !== '';
  }
}

function canonical(input: string): string {
  const p = parseServerName(input);
  return isServerNameError(p) ? input : p.serverName;
}

/** Cut a (possibly coloured) line to `max` display columns so it never wraps. */
export function fit(s: string, max: number): string {
  const plain = s.replace(/\u001b\[[0-9;]*m/g, '');
  if (displayWidth(plain) <= max) return s;
  // Cutting through colour codes is not worth the trouble: drop them when the line is too long.
  let out = '';
  let w = 0;
  for (const ch of plain) {
    const cw = displayWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}
