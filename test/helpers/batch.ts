/**
 * A lab deployment serving many server names at once (`s1.example.org` … `sN.example.org`), for
 * the several-servers tests: ONE DNS server, one CA, one set of hosts, one run.
 *
 * Each server is a copy of one of the lab's own healthy scenarios, relocated to its own names and
 * its own loopback addresses (127.0.0.X becomes 127.0.I.X): odd-numbered servers copy `healthy`
 * (delegated with /.well-known/matrix/server to matrix.sI.example.org:443 behind a reverse proxy),
 * even-numbered ones `default-port` (no delegation: the server name itself on port 8448). The
 * copies keep IPv4 only: there is a single IPv6 loopback address, and two servers cannot share
 * ::1:443. Copying the scenarios keeps "healthy" meaning what the lab's own scenario tests say.
 *
 * Some servers are broken on purpose:
 * - `no-dns`:     none of its names exist in DNS (NXDOMAIN);
 * - `wrong-cert`: its homeserver (or the proxy in front of it) presents a certificate for another name;
 * - `silent`:     its homeserver (or proxy) accepts TCP connections and never answers.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LabHostSpec, Scenario } from '../../src/lab/scenario-types.js';
import type { RunOptions } from '../../src/run/options.js';
import type { Zone } from '../../src/lab/dns-server.js';
import { findScenario } from '../../src/lab/scenarios/index.js';

export type BatchFault = 'no-dns' | 'wrong-cert' | 'silent';

export interface BatchServer {
  serverName: string;
  fault: BatchFault | null;
  /** the lab scenario it is a copy of */
  template: string;
  /** the resolution method that scenario expects */
  method: string | null;
}

/** The templates, alternating: server 1 copies the first, server 2 the second, … */
export const BATCH_TEMPLATES = ['healthy', 'default-port'];

const BASE = 'example.org';

/** Deep copy of plain data with every string passed through `f`. */
function mapStrings<T>(value: T, f: (s: string) => string): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f);
    return out as T;
  }
  return value;
}

function relocator(i: number): (s: string) => string {
  return (s) => {
    const ip = /^127\.0\.0\.(\d{1,3})$/.exec(s);
    if (ip) return `127.0.${i}.${ip[1]}`;
    // example.org and its subdomains, wherever they appear (zone names, SANs, m.server, keys)
    return s.replace(/(^|[^a-z0-9-])example\.org(?![a-z0-9-])/gi, (_m, pre: string) => `${pre}s${i}.${BASE}`);
  };
}

const isV6 = (a: string) => a.includes(':');

/** A host that answers the federation API: a homeserver stand-in, or a reverse proxy in front of one. */
function servesFederation(h: LabHostSpec): boolean {
  const fields = h as unknown as Record<string, unknown>;
  return fields['homeserver'] !== undefined || fields['proxy'] !== undefined;
}

/**
 * Build the combined scenario: `count` servers, `faults` by server number (1-based).
 * Server numbers must stay below 256 (they become the third octet of the addresses).
 */
export function batchScenario(count: number, faults: Readonly<Record<number, BatchFault>>): { scenario: Scenario; servers: BatchServer[] } {
  if (count < 1 || count > 250) throw new Error('batchScenario: 1 to 250 servers');
  const templates = BATCH_TEMPLATES.map((name) => {
    const t = findScenario(name);
    if (!t) throw new Error(`the lab has no "${name}" scenario`);
    return t;
  });
  const zone: Zone = {};
  const hosts: LabHostSpec[] = [];
  const servers: BatchServer[] = [];
  for (let i = 1; i <= count; i++) {
    const fault = faults[i] ?? null;
    const template = templates[(i - 1) % templates.length]!;
    const copy = mapStrings({ serverName: template.serverName, zone: template.zone, hosts: template.hosts }, relocator(i));
    servers.push({ serverName: copy.serverName, fault, template: template.name, method: template.expect.method ?? null });
    if (fault !== 'no-dns') {
      for (const [name, entry] of Object.entries(copy.zone)) {
        const e = { ...entry };
        delete e.AAAA;
        zone[name] = e;
      }
    }
    for (const h of copy.hosts) {
      if (isV6(h.address)) continue;
      if (servesFederation(h) && fault === 'wrong-cert') hosts.push({ ...h, tls: { names: [`other.s${i}.example.net`] } });
      else if (servesFederation(h) && fault === 'silent') hosts.push({ address: h.address, port: h.port, fault: 'silent' });
      else hosts.push(h);
    }
  }
  const scenario: Scenario = {
    name: `batch-${count}`,
    title: `${count} server names in one lab deployment`,
    group: 'healthy',
    serverName: servers[0]!.serverName,
    zone,
    hosts,
    expect: {},
  };
  return { scenario, servers };
}

export interface BatchLab {
  servers: BatchServer[];
  runOptions: RunOptions;
  /** the equivalent `fedcheck check` arguments (the first server name, then the options) */
  cliArgs: string[];
  stop(): Promise<void>;
}

/**
 * Start the batch lab in a child process (batch-lab-child.ts) and return the run options that
 * point a check at it. `stop()` closes the child's stdin and waits for it to exit.
 */
export async function startBatchLab(count: number, faults: Readonly<Record<number, BatchFault>>, timeoutMs: number): Promise<BatchLab> {
  const script = fileURLToPath(new URL('./batch-lab-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify({ count, faults, timeoutMs })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        child.stdout.off('data', onData);
        resolve(buf.slice(0, nl));
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the batch lab exited (code ${code}) before it was up`)));
  });
  const up = JSON.parse(first) as { runOptions: RunOptions; servers: BatchServer[]; cliArgs: string[] };
  return {
    ...up,
    async stop() {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
