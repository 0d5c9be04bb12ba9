/**
 * `--resolve host:port:addr[,addr…]` and `--connect-to host:port:chost:cport`, as curl has them.
 *
 * - --resolve: a connection to host:port goes to addr, with no DNS lookup for host.
 * - --connect-to: a connection to host:port goes to chost:cport (chost is looked up through the
 *   run's resolver unless it is an address literal); the TLS name and Host header are unchanged.
 *   An empty host or port matches any (curl: `::chost:cport`).
 * - Extension: a --connect-to whose host is an address literal matches connections to that address
 *   after resolution (the lab uses it to map 127.0.0.x:8448 to the port its server really has).
 */
import { isIP } from 'node:net';

export interface ResolveEntry { host: string; port: number; addresses: string[] }
export interface ConnectToEntry { host: string; port: number | null; chost: string; cport: number }

export class OptionError extends Error {}

/** Split `a:b:c` honouring `[v6]` brackets. */
function splitFields(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of spec) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ':' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function unbracket(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function parsePort(s: string, what: string, spec: string, allowEmpty: boolean): number | null {
  if (s === '' && allowEmpty) return null;
  if (!/^\d{1,5}$/.test(s) || +s < 1 || +s > 65535) throw new OptionError(`${what} "${s}" in "${spec}" is not a port (1-65535)`);
  return +s;
}

export function parseResolve(spec: string): ResolveEntry {
  const f = splitFields(spec);
  if (f.length !== 3 || !f[0]) throw new OptionError(`--resolve "${spec}" is not host:port:addr (IPv6 addresses in brackets)`);
  const port = parsePort(f[1]!, 'port', spec, false)!;
  const addresses = f[2]!.split(',').map((a) => unbracket(a.trim()));
  for (const a of addresses) {
    if (!isIP(a)) throw new OptionError(`--resolve "${spec}": "${a}" is not an IP address`);
  }
  return { host: unbracket(f[0]).toLowerCase(), port, addresses };
}

export function parseConnectTo(spec: string): ConnectToEntry {
  const f = splitFields(spec);
  if (f.length !== 4) throw new OptionError(`--connect-to "${spec}" is not host:port:connect-host:connect-port`);
  const chost = unbracket(f[2]!);
  if (!chost) throw new OptionError(`--connect-to "${spec}" has no connect-host`);
  return {
    host: unbracket(f[0]!).toLowerCase(),
    port: parsePort(f[1]!, 'port', spec, true),
    chost,
    cport: parsePort(f[3]!, 'connect-port', spec, false)!,
  };
}

export interface Route {
  /** host to connect to (an address literal, or a name still to be looked up) */
  host: string;
  port: number;
  /** set when --resolve pinned the addresses */
  pinned?: string[];
  /** what was applied, for the trace and the report */
  via?: string;
}

export class ConnectMap {
  constructor(readonly resolves: ResolveEntry[] = [], readonly connectTos: ConnectToEntry[] = []) {}

  get empty(): boolean {
    return this.resolves.length === 0 && this.connectTos.length === 0;
  }

  /** --resolve addresses for host:port, if any */
  pinned(host: string, port: number): string[] | null {
    const h = host.toLowerCase();
    const r = this.resolves.find((e) => (e.host === h || e.host === '*') && e.port === port);
    return r ? r.addresses : null;
  }

  /** Host-keyed --connect-to for a logical host:port. */
  byHost(host: string, port: number): Route | null {
    const h = host.toLowerCase();
    const c = this.connectTos.find((e) => !isIP(e.host) && (e.host === '' || e.host === h) && (e.port === null || e.port === port));
    if (!c) return null;
    return { host: c.chost, port: c.cport, via: `--connect-to ${c.host}:${c.port ?? ''}:${c.chost}:${c.cport}` };
  }

  /** Address-keyed --connect-to for a resolved address:port. */
  byAddress(address: string, port: number): Route | null {
    const c = this.connectTos.find((e) => isIP(e.host) && e.host === address && (e.port === null || e.port === port));
    if (!c) return null;
    return { host: c.chost, port: c.cport, via: `--connect-to ${c.host}:${c.port ?? ''}:${c.chost}:${c.cport}` };
  }
}
