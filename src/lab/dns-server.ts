/**
 * An authoritative-looking DNS server for the lab, on dns2 2.4, bound to 127.0.0.1 only.
 *
 * It answers the way a *recursive resolver* would answer a stub (what fedcheck's `--resolver`
 * talks to): a query for a CNAME'd name gets the CNAME chain plus the final target's records.
 *
 * Behaviour:
 * - names are matched case-insensitively, trailing dot optional;
 * - name not in the zone → NXDOMAIN (rcode 3), no SOA in the authority section;
 * - name present but without the queried type → NOERROR with no answers (NODATA);
 * - CNAME: for any query type other than CNAME the chain is followed inside the zone; a loop
 *   answers NOERROR with the CNAMEs seen and no address; a chain ending at a name not in the zone
 *   answers NXDOMAIN with the CNAMEs (as RFC 6604 resolvers do);
 * - SRV targets may be `.` ("service decidedly not available");
 * - faults per name (`fault`) or per name and type (`faultFor`), also honoured on CNAME targets:
 *   `servfail`, `refused`, `silent` (never answers), `truncate` (over UDP: TC bit and no records;
 *   over TCP: the full answer), `malformed` (a reply with the right id whose body is garbage);
 * - answers bigger than the UDP payload size are truncated (TC) by dns2, so clients retry on TCP;
 * - `rttMs` delays every answer by that much.
 *
 * UDP and TCP share one port number. Every question is logged in `queries`.
 */
import dns2 from 'dns2';
import net from 'node:net';
import type dgram from 'node:dgram';
import type { DnsRecordType } from '../core/types.js';

const { Packet } = dns2;

/** One SRV record in a zone. `target` may be `.`. */
export interface ZoneSrv {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** How a name (or one type of a name) misbehaves. */
export type DnsFault = 'servfail' | 'refused' | 'silent' | 'truncate' | 'malformed';

/** Records and faults for one owner name. */
export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** the alias target (a name with a CNAME should have no other records) */
  CNAME?: string;
  SRV?: ZoneSrv[];
  /** TTL for every record of this name, default 300 */
  ttl?: number;
  /** applies to every query for this name */
  fault?: DnsFault;
  /** applies to queries of one type only (checked before `fault`) */
  faultFor?: Partial<Record<DnsRecordType, DnsFault>>;
}

/** A zone: owner name → entry. Names are case-insensitive, trailing dot optional. */
export type Zone = Record<string, ZoneEntry>;

/** One question the server received. */
export interface DnsQueryLog {
  /** name as it appeared in the question */
  name: string;
  /** `A`, `AAAA`, `CNAME`, `SRV`, … or `TYPE<n>` */
  type: string;
  transport: 'udp' | 'tcp';
}

/** A running lab DNS server. */
export interface LabDnsServer {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:PORT`, ready for `Resolver.setServers([...])` */
  address: string;
  /** replace the zone (takes effect for the next question) */
  setZone(zone: Zone): void;
  /** every question received, in order */
  queries: DnsQueryLog[];
  /** close both sockets, drop pending (delayed / silent) answers and open TCP connections */
  stop(): Promise<void>;
}

/** Options for {@link startDnsServer}. */
export interface DnsServerOptions {
  /** delay each answer by this many milliseconds */
  rttMs?: number;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

const TYPE_NAMES: Record<number, string> = {
  [Packet.TYPE.A]: 'A',
  [Packet.TYPE.AAAA]: 'AAAA',
  [Packet.TYPE.CNAME]: 'CNAME',
  [Packet.TYPE.SRV]: 'SRV',
  [Packet.TYPE.TXT]: 'TXT',
  [Packet.TYPE.MX]: 'MX',
  [Packet.TYPE.NS]: 'NS',
  [Packet.TYPE.SOA]: 'SOA',
  [Packet.TYPE.PTR]: 'PTR',
  255: 'ANY',
};

/** Lower-case and strip one trailing dot (but keep `.` itself). */
export function normalizeDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Expand an IPv6 literal to eight 4-digit groups (dns2's own encoder misses some forms). */
export function expandIPv6(addr: string): string {
  if (net.isIPv6(addr) === false) throw new Error(`not an IPv6 address: ${addr}`);
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, v4.index) + ((o[0]! << 8) | o[1]!).toString(16) + ':' + ((o[2]! << 8) | o[3]!).toString(16);
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
  return [...head, ...Array<string>(fill).fill('0'), ...tail].map((g) => g.padStart(4, '0')).join(':');
}

interface NormalisedZone {
  entries: Map<string, ZoneEntry>;
}

function normaliseZone(zone: Zone): NormalisedZone {
  const entries = new Map<string, ZoneEntry>();
  for (const [name, entry] of Object.entries(zone)) {
    for (const a of entry.A ?? []) if (!net.isIPv4(a)) throw new Error(`zone ${name}: bad A ${a}`);
    for (const a of entry.AAAA ?? []) if (!net.isIPv6(a)) throw new Error(`zone ${name}: bad AAAA ${a}`);
    entries.set(normalizeDnsName(name), entry);
  }
  return { entries };
}

type Resource = Record<string, unknown>;

interface Outcome {
  rcode: number;
  answers: Resource[];
  fault?: DnsFault;
}

function faultOf(entry: ZoneEntry, type: string): DnsFault | undefined {
  return entry.faultFor?.[type as DnsRecordType] ?? entry.fault;
}

/** Compute the answer for one question against a zone. Exported for unit tests. */
export function answerQuestion(zone: NormalisedZone, qname: string, qtype: number): Outcome {
  const typeName = TYPE_NAMES[qtype] ?? `TYPE${qtype}`;
  const answers: Resource[] = [];
  const visited = new Set<string>();
  let owner = qname; // owner name for the next record, as the client will compare it
  let cur = normalizeDnsName(qname);
  for (;;) {
    visited.add(cur);
    const entry = zone.entries.get(cur);
    if (!entry) return { rcode: RCODE.NXDOMAIN, answers };
    const fault = faultOf(entry, typeName);
    if (fault) return { rcode: RCODE.NOERROR, answers: [], fault };
    const ttl = entry.ttl ?? 300;
    const base = { name: owner, class: Packet.CLASS.IN, ttl };
    if (entry.CNAME !== undefined && qtype !== Packet.TYPE.CNAME) {
      answers.push({ ...base, type: Packet.TYPE.CNAME, domain: entry.CNAME });
      const next = normalizeDnsName(entry.CNAME);
      if (visited.has(next)) return { rcode: RCODE.NOERROR, answers }; // loop: CNAMEs only
      owner = entry.CNAME.endsWith('.') ? entry.CNAME.slice(0, -1) : entry.CNAME;
      cur = next;
      continue;
    }
    switch (qtype) {
      case Packet.TYPE.A:
        for (const address of entry.A ?? []) answers.push({ ...base, type: Packet.TYPE.A, address });
        break;
      case Packet.TYPE.AAAA:
        for (const a of entry.AAAA ?? []) answers.push({ ...base, type: Packet.TYPE.AAAA, address: expandIPv6(a) });
        break;
      case Packet.TYPE.CNAME:
        if (entry.CNAME !== undefined) answers.push({ ...base, type: Packet.TYPE.CNAME, domain: entry.CNAME });
        break;
      case Packet.TYPE.SRV:
        for (const s of entry.SRV ?? []) {
          answers.push({ ...base, type: Packet.TYPE.SRV, priority: s.priority, weight: s.weight, port: s.port, target: s.target });
        }
        break;
      default:
        break; // NODATA
    }
    return { rcode: RCODE.NOERROR, answers };
  }
}

type DnsPacket = InstanceType<typeof Packet>;
type Send = (response: DnsPacket | Buffer) => Promise<Buffer>;

function responseFor(request: DnsPacket, rcode: number, answers: Resource[], tc = false): DnsPacket {
  const response = Packet.createResponseFromRequest(request);
  const header = response.header as unknown as Record<string, number>;
  header.rcode = rcode;
  header.ra = 1;
  header.aa = 0;
  if (tc) header.tc = 1;
  response.answers = answers as unknown as DnsPacket['answers'];
  return response;
}

/** A reply with the query's id and QR set, claiming one question and one answer, then junk. */
function malformedFor(request: DnsPacket): Buffer {
  const b = Buffer.alloc(12 + 16);
  b.writeUInt16BE((request.header as unknown as { id: number }).id, 0);
  b.writeUInt16BE(0x8180, 2); // QR, RD, RA, NOERROR
  b.writeUInt16BE(1, 4); // qdcount
  b.writeUInt16BE(1, 6); // ancount
  b.fill(0xc0, 12); // a chain of compression pointers to nowhere
  return b;
}

interface Internals {
  servers: { udp: dgram.Socket & { listen(port: number, address: string): Promise<void> }; tcp: net.Server };
}

/**
 * Start a lab DNS server on 127.0.0.1 (UDP + TCP on the same random port).
 * @throws if no port could be bound for both transports after a few attempts
 */
export async function startDnsServer(zone: Zone, opts: DnsServerOptions = {}): Promise<LabDnsServer> {
  let current = normaliseZone(zone);
  const queries: DnsQueryLog[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<net.Socket>();
  let stopped = false;
  const rttMs = Math.max(0, opts.rttMs ?? 0);

  const handle = (request: DnsPacket, send: Send, client: unknown): void => {
    const transport: 'udp' | 'tcp' = client instanceof net.Socket ? 'tcp' : 'udp';
    const q = request.questions[0] as unknown as { name: string; type: number } | undefined;
    const reply = (fn: () => DnsPacket | Buffer | null): void => {
      const go = () => {
        if (stopped) return;
        const msg = fn();
        if (msg) send(msg).catch(() => undefined);
      };
      if (rttMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          go();
        }, rttMs);
        timers.add(t);
      } else go();
    };
    if (!q) {
      queries.push({ name: '', type: '', transport });
      reply(() => responseFor(request, RCODE.FORMERR, []));
      return;
    }
    queries.push({ name: q.name, type: TYPE_NAMES[q.type] ?? `TYPE${q.type}`, transport });
    const outcome = answerQuestion(current, q.name, q.type);
    switch (outcome.fault) {
      case 'silent':
        return;
      case 'servfail':
        return reply(() => responseFor(request, RCODE.SERVFAIL, []));
      case 'refused':
        return reply(() => responseFor(request, RCODE.REFUSED, []));
      case 'malformed':
        return reply(() => malformedFor(request));
      case 'truncate': {
        if (transport === 'udp') return reply(() => responseFor(request, RCODE.NOERROR, [], true));
        const full = answerQuestion({ entries: withoutTruncate(current.entries) }, q.name, q.type);
        return reply(() => responseFor(request, full.rcode, full.answers));
      }
      default:
        return reply(() => responseFor(request, outcome.rcode, outcome.answers));
    }
  };

  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const server = dns2.createServer({ udp: true, tcp: true, handle: handle as never });
    const errors: Error[] = [];
    server.on('error', (err: Error) => errors.push(err));
    server.on('requestError', () => undefined);
    const { udp, tcp } = (server as unknown as Internals).servers;
    tcp.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    });
    try {
      await udp.listen(0, '127.0.0.1');
      const udpAddr = udp.address();
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: Error) => {
          tcp.off('listening', onListening);
          reject(err);
        };
        const onListening = () => {
          tcp.off('error', onErr);
          resolve();
        };
        tcp.once('error', onErr);
        tcp.once('listening', onListening);
        tcp.listen(udpAddr.port, '127.0.0.1');
      });
      const tcpAddr = tcp.address() as net.AddressInfo;
      if (udpAddr.address !== '127.0.0.1' || tcpAddr.address !== '127.0.0.1' || udpAddr.port !== tcpAddr.port) {
        throw new Error(`lab DNS bound unexpectedly: udp ${udpAddr.address}:${udpAddr.port}, tcp ${tcpAddr.address}:${tcpAddr.port}`);
      }
      const port = udpAddr.port;
      return {
        host: '127.0.0.1',
        port,
        address: `127.0.0.1:${port}`,
        queries,
        setZone(z: Zone) {
          current = normaliseZone(z);
        },
        async stop() {
          if (stopped) return;
          stopped = true;
          for (const t of timers) clearTimeout(t);
          timers.clear();
          for (const s of sockets) s.destroy();
          await server.close();
        },
      };
    } catch (err) {
      lastError = err;
      try {
        udp.close();
      } catch {
        /* not bound */
      }
      if (tcp.listening) tcp.close();
      if (!(err as NodeJS.ErrnoException).code || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw new Error(`lab DNS server could not bind 127.0.0.1: ${(lastError as Error)?.message ?? lastError}`);
}

/** The zone with every `truncate` fault removed (what the TCP retry sees). */
function withoutTruncate(entries: Map<string, ZoneEntry>): Map<string, ZoneEntry> {
  const out = new Map<string, ZoneEntry>();
  for (const [k, v] of entries) {
    const copy: ZoneEntry = { ...v };
    if (copy.fault === 'truncate') delete copy.fault;
    if (copy.faultFor) {
      copy.faultFor = Object.fromEntries(Object.entries(copy.faultFor).filter(([, f]) => f !== 'truncate'));
    }
    out.set(k, copy);
  }
  return out;
}
