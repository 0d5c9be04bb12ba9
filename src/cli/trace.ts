/**
 * --verbose: a `curl -v` style trace on stderr — every DNS question and its answer (with TTL),
 * every connection (address, TLS version, cipher, ALPN, SNI, certificate subject, issuer, SANs,
 * validity, chain verdict), every HTTP request line and response status, each with the time
 * since the run started and how long the step took.
 *
 * Line prefixes as in curl: `*` information (DNS, connections, TLS), `>` a request sent, `<` a
 * response received, `!` an error. Every line carries `+S.SSSs` (time since the start of the run)
 * and the server name it belongs to, so interleaved lines of concurrent probes stay readable.
 * Everything that came from the network (names in DNS answers, certificate fields, messages)
 * goes through sanitize(): no remote text can move the cursor or recolour the terminal.
 */
import { X509Certificate } from 'node:crypto';
import type { TraceEvent } from '../net/http.js';
import type { TlsEvidence } from '../core/types.js';
import { sanitize } from '../core/sanitize.js';

export type TraceFn = (server: string, e: TraceEvent) => void;

export interface TracerOptions {
  /** clock, for tests */
  now?: () => number;
}

const SIGIL: Record<TraceEvent['kind'], string> = { dns: '*', connect: '*', tls: '*', request: '>', response: '<', error: '!', note: '*' };

/** A tracer writing whole lines to `out` (a stream, or a function such as the progress line's log). */
export function makeTracer(out: NodeJS.WritableStream | ((line: string) => void), opts: TracerOptions = {}): TraceFn {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const write = typeof out === 'function' ? out : (line: string) => void out.write(line + '\n');
  return (server, e) => {
    const prefix = `${SIGIL[e.kind] ?? '*'} +${((now() - t0) / 1000).toFixed(3)}s [${sanitize(server, 80)}]`;
    for (const line of formatEvent(e, now())) write(`${prefix} ${line}`);
  };
}

function took(ms: number | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? ` (${Math.round(ms)} ms)` : '';
}

/** The lines (without prefix) describing one event. Exported for the tests. */
export function formatEvent(e: TraceEvent, nowMs = Date.now()): string[] {
  const msg = sanitize(String(e.message ?? ''), 600);
  const x = e.exchange;
  switch (e.kind) {
    case 'dns':
      return [`DNS ${msg}${took(e.ms)}`];
    case 'connect': {
      const m = /^connected to (.+):(\d+)$/.exec(String(e.message ?? ''));
      return [`TCP ${m ? `connected to ${endpoint(m[1]!, Number(m[2]))}` : msg}${took(e.ms)}`];
    }
    case 'tls':
      return e.tls ? formatTls(e.tls, e.ms, nowMs, e.peer) : [`${msg}${took(e.ms)}`];
    case 'request':
      if (!x) return [msg];
      return [`${sanitize(x.method, 20)} ${sanitize(x.path, 300)} HTTP/1.1 · Host: ${sanitize(x.hostHeader, 300)} · to ${endpoint(x.address, x.port)}`];
    case 'response': {
      if (!x) return [`${msg}${took(e.ms)}`];
      const m = /^<\s*(\d{3})\s*(?:\((.*)\))?$/.exec(String(e.message ?? ''));
      const status = m ? m[1] : msg;
      const extra = m?.[2] ? `, ${sanitize(m[2], 100)}` : '';
      return [`HTTP/1.1 ${status} · ${sanitize(x.method, 20)} ${sanitize(x.path, 300)} from ${endpoint(x.address, x.port)}${extra}${took(e.ms)}`];
    }
    case 'error':
      return [`${msg}${x ? ` · from ${endpoint(x.address, x.port)}` : ''}${took(e.ms)}`];
    default:
      return [`${msg}${took(e.ms)}`];
  }
}

function endpoint(address: string, port: number): string {
  const a = sanitize(String(address), 60);
  return `${a.includes(':') ? `[${a}]` : a}:${Number(port)}`;
}

function formatTls(t: TlsEvidence, ms: number | undefined, nowMs: number, peer?: { address: string; port: number }): string[] {
  const lines = [
    `TLS handshake${peer ? ` with ${endpoint(peer.address, peer.port)}` : ''} done${took(ms)}: ${sanitize(t.protocol ?? 'unknown protocol', 40)}, ${sanitize(t.cipher ?? 'unknown cipher', 80)}, ALPN ${sanitize(t.alpn ?? 'none', 40)}, SNI ${t.servername === null ? 'none (IP certificate)' : sanitize(t.servername, 260)}`,
  ];
  if (t.chainChecked === false) {
    lines.push('  certificate: not checked on this connection (it is judged on the per-address probe connection)');
    return lines;
  }
  const chain = Array.isArray(t.chain) ? t.chain : [];
  const leaf = chain[0];
  if (!leaf) {
    lines.push('  certificate: none sent');
  } else {
    try {
      const c = new X509Certificate(Buffer.from(leaf, 'base64'));
      lines.push(`  subject: ${dn(c.subject)}`);
      lines.push(`  issuer:  ${dn(c.issuer)}`);
      lines.push(`  SANs:    ${c.subjectAltName ? sanitize(c.subjectAltName, 600) : 'none'}`);
      lines.push(`  valid:   ${validity(c.validFrom, c.validTo, nowMs)}`);
    } catch (err) {
      lines.push(`  certificate: cannot be parsed (${sanitize((err as Error).message, 120)})`);
    }
  }
  const verdict = t.chainAuthorized ? 'trusted' : `NOT trusted (${sanitize(t.chainError ?? 'unknown reason', 120)})`;
  const shape = t.chainLeafOnly ? 'verified, leaf kept' : `${chain.length} certificate${chain.length === 1 ? '' : 's'} sent`;
  lines.push(`  chain:   ${shape}; ${verdict}${t.sessionReused ? '; session resumed' : ''}`);
  return lines;
}

/** An X.509 distinguished name on one line (Node gives one attribute per line). */
function dn(s: string): string {
  return sanitize(s.split('\n').filter(Boolean).join(', '), 300);
}

function validity(from: string, to: string, nowMs: number): string {
  const a = Date.parse(from);
  const b = Date.parse(to);
  const iso = (t: number, raw: string) => (Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : sanitize(raw, 60));
  let note = '';
  if (Number.isFinite(a) && Number.isFinite(b)) {
    const day = 86_400_000;
    if (nowMs < a) note = ` (not valid yet: starts in ${Math.ceil((a - nowMs) / day)} days)`;
    else if (nowMs > b) note = ` (EXPIRED ${Math.floor((nowMs - b) / day)} days ago)`;
    else note = ` (expires in ${Math.floor((b - nowMs) / day)} days)`;
  }
  return `${iso(a, from)} → ${iso(b, to)}${note}`;
}
