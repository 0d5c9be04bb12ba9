/** --verbose: a curl -v style trace on stderr. Remote text is sanitised before printing. */
import type { TraceEvent } from '../net/http.js';
import { sanitize } from '../core/sanitize.js';

export function makeTracer(stream: NodeJS.WritableStream): (server: string, e: TraceEvent) => void {
  const t0 = Date.now();
  const sigil: Record<TraceEvent['kind'], string> = { dns: '?', connect: '*', tls: '*', request: '>', response: '<', error: '!', note: '*' };
  return (server, e) => {
    const at = `+${String(Date.now() - t0).padStart(5)}ms`;
    const took = e.ms !== undefined ? ` [${e.ms} ms]` : '';
    stream.write(`${sigil[e.kind]} ${at} ${sanitize(server, 80)} ${e.kind.padEnd(8)} ${sanitize(e.message, 400)}${took}\n`);
  };
}
