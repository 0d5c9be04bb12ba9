/**
 * DNS lookups through node:dns Resolver (c-ares): real per-query timeouts, custom servers with
 * ports, and no /etc/hosts or system resolver behind it once `--resolver` is given.
 *
 * Every lookup is memoised per (name, type) for the run, so the speculative lookups the resolver
 * starts early (spec §1: the server name's SRV and A/AAAA while its well-known is in flight) and
 * the lookups behind HTTPS connections share one query. Errors are data (DnsLookup.outcome).
 */
import { Resolver } from 'node:dns/promises';
import type { DnsLookup, DnsRecordType, NetError, SrvRecord } from '../core/types.js';

export interface DnsOptions {
  /** `addr[:port]` / `[v6]:port`; empty = the system's configured name servers */
  servers?: string[];
  /** per-attempt timeout in ms */
  timeoutMs?: number;
  tries?: number;
  /** 4 = only A, 6 = only AAAA, 0 = both */
  family?: 0 | 4 | 6;
  /** observer for --verbose traces */
  onLookup?: (lookup: DnsLookup) => void;
  /** overall deadline (epoch ms) after which lookups fail fast with a timeout */
  deadline?: number;
}

export interface AddressLookup {
  name: string;
  /** A then AAAA addresses (filtered by family) */
  addresses: string[];
  a: DnsLookup | null;
  aaaa: DnsLookup | null;
  /** true when at least one asked lookup failed (not NXDOMAIN/NODATA) */
  failed: boolean;
}

const CODE_OUTCOME: Record<string, DnsLookup['outcome']> = {
  ENOTFOUND: 'nxdomain',
  ENODATA: 'nodata',
  ESERVFAIL: 'servfail',
  EREFUSED: 'refused',
  ETIMEOUT: 'timeout',
  ECANCELLED: 'timeout',
};

export function lookupFailed(l: DnsLookup | null): boolean {
  return !!l && l.outcome !== 'ok' && l.outcome !== 'nodata' && l.outcome !== 'nxdomain';
}

export class DnsClient {
  readonly log: DnsLookup[] = [];
  private readonly cache = new Map<string, Promise<DnsLookup>>();
  private readonly resolver: Resolver;
  readonly family: 0 | 4 | 6;

  constructor(private readonly opts: DnsOptions = {}) {
    this.family = opts.family ?? 0;
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
    if (opts.servers && opts.servers.length > 0) this.resolver.setServers(opts.servers);
  }

  get servers(): string[] {
    return this.resolver.getServers();
  }

  lookup(name: string, type: DnsRecordType): Promise<DnsLookup> {
    const key = `${type} ${name.toLowerCase()}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.query(name, type);
      this.cache.set(key, p);
    }
    return p;
  }

  /** A and AAAA of a name, concurrently, limited by -4/-6. */
  async addresses(name: string): Promise<AddressLookup> {
    const [a, aaaa] = await Promise.all([
      this.family === 6 ? null : this.lookup(name, 'A'),
      this.family === 4 ? null : this.lookup(name, 'AAAA'),
    ]);
    const addresses = [...(a?.addresses ?? []), ...(aaaa?.addresses ?? [])];
    return { name, addresses, a, aaaa, failed: lookupFailed(a) || lookupFailed(aaaa) };
  }

  cancel(): void {
    this.resolver.cancel();
  }

  private async query(name: string, type: DnsRecordType): Promise<DnsLookup> {
    const started = Date.now();
    const base = { name, type } as const;
    let result: DnsLookup;
    const remaining = this.opts.deadline ? this.opts.deadline - Date.now() : Infinity;
    if (remaining <= 0) {
      result = { ...base, outcome: 'timeout', error: err('timeout', 'ETIMEOUT', 'no time left before the deadline'), ms: 0 };
    } else {
      try {
        result = await withDeadline(this.ask(name, type), remaining, name, type);
        result.ms = Date.now() - started;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EDNS';
        const outcome = CODE_OUTCOME[code] ?? 'error';
        result = { ...base, outcome, ms: Date.now() - started };
        if (outcome !== 'nxdomain' && outcome !== 'nodata') {
          result.error = err(outcome === 'timeout' ? 'timeout' : 'dns', code, describeDnsError(code, name, type, e));
        }
      }
    }
    this.log.push(result);
    this.opts.onLookup?.(result);
    return result;
  }

  private async ask(name: string, type: DnsRecordType): Promise<DnsLookup> {
    const base = { name, type, outcome: 'ok' as const, ms: 0 };
    switch (type) {
      case 'A':
      case 'AAAA': {
        const recs = type === 'A'
          ? await this.resolver.resolve4(name, { ttl: true })
          : await this.resolver.resolve6(name, { ttl: true });
        const ttl = recs.length ? Math.min(...recs.map((r) => r.ttl)) : undefined;
        return { ...base, addresses: recs.map((r) => r.address), ...(ttl !== undefined ? { ttl } : {}) };
      }
      case 'CNAME': {
        const recs = await this.resolver.resolveCname(name);
        return { ...base, addresses: recs.map(stripDot) };
      }
      case 'SRV': {
        const recs = await this.resolver.resolveSrv(name);
        const srv: SrvRecord[] = recs.map((r) => ({
          priority: r.priority,
          weight: r.weight,
          port: r.port,
          name: r.name === '' || r.name === '.' ? '.' : stripDot(r.name),
        }));
        return { ...base, srv };
      }
    }
  }
}

function stripDot(n: string): string {
  return n.length > 1 && n.endsWith('.') ? n.slice(0, -1) : n;
}

function err(phase: NetError['phase'], code: string, message: string): NetError {
  return { phase, code, message };
}

function describeDnsError(code: string, name: string, type: string, e: unknown): string {
  switch (code) {
    case 'ESERVFAIL':
      return `the DNS server answered SERVFAIL for ${type} ${name} (a server-side failure, not "no record")`;
    case 'EREFUSED':
      return `the DNS server refused the ${type} query for ${name}`;
    case 'ETIMEOUT':
    case 'ECANCELLED':
      return `no DNS answer for ${type} ${name} before the timeout`;
    case 'EBADRESP':
    case 'EFORMERR':
      return `the DNS answer for ${type} ${name} was malformed (${code})`;
    case 'ECONNREFUSED':
      return `could not reach the DNS server for ${type} ${name} (connection refused)`;
    case 'EBADNAME':
      return `${name} is not a valid DNS name (control characters or malformed labels), so it cannot be looked up`;
    default:
      return `${type} ${name}: ${(e as Error)?.message ?? code}`;
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number, name: string, type: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`deadline reached during ${type} ${name}`) as NodeJS.ErrnoException;
      e.code = 'ETIMEOUT';
      reject(e);
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
