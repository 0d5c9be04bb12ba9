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
 * - `rttMs` delays every answer by that much (the first answer on a TCP connection by twice that:
 *   the TCP handshake's round trip comes first).
 *
 * UDP and TCP share one port number. Every question is logged in `queries`.
 *
 * dns2 is used for the sockets and for parsing questions only: replies are encoded here, because
 * dns2's bit-array encoder is quadratic (200 SRV records took ~250 ms, 2,000 would take
 * seconds). A UDP reply larger than the client's EDNS payload size (512 without EDNS) is sent as
 * header + question with TC set; a TCP reply over 65,535 bytes (about 2,000 SRV records) is
 * sent the same way, which c-ares then reports as ENODATA — a lab artefact, no DNS message can be
 * that big.
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
const TYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 } as const;

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

/** Expand an IPv6 literal (including `::ffff:1.2.3.4` forms) to eight 4-digit hex groups. */
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

/** One answer record, ready to encode. */
export type AnswerRecord =
  | { name: string; ttl: number; type: 'A' | 'AAAA'; address: string }
  | { name: string; ttl: number; type: 'CNAME'; target: string }
  | { name: string; ttl: number; type: 'SRV'; priority: number; weight: number; port: number; target: string };

/** What the server decided for one question. */
export interface Outcome {
  rcode: number;
  answers: AnswerRecord[];
  fault?: DnsFault;
}

function faultOf(entry: ZoneEntry, type: string): DnsFault | undefined {
  return entry.faultFor?.[type as DnsRecordType] ?? entry.fault;
}

/** Compute the answer for one question against a zone (faults are reported, not acted on). */
function answerQuestion(zone: NormalisedZone, qname: string, qtype: number): Outcome {
  const typeName = TYPE_NAMES[qtype] ?? `TYPE${qtype}`;
  const answers: AnswerRecord[] = [];
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
    if (entry.CNAME !== undefined && qtype !== TYPE.CNAME) {
      answers.push({ name: owner, ttl, type: 'CNAME', target: entry.CNAME });
      const next = normalizeDnsName(entry.CNAME);
      if (visited.has(next)) return { rcode: RCODE.NOERROR, answers }; // loop: CNAMEs only
      owner = entry.CNAME;
      cur = next;
      continue;
    }
    switch (qtype) {
      case TYPE.A:
        for (const address of entry.A ?? []) answers.push({ name: owner, ttl, type: 'A', address });
        break;
      case TYPE.AAAA:
        for (const address of entry.AAAA ?? []) answers.push({ name: owner, ttl, type: 'AAAA', address });
        break;
      case TYPE.CNAME:
        if (entry.CNAME !== undefined) answers.push({ name: owner, ttl, type: 'CNAME', target: entry.CNAME });
        break;
      case TYPE.SRV:
        for (const r of entry.SRV ?? []) {
          answers.push({ name: owner, ttl, type: 'SRV', priority: r.priority, weight: r.weight, port: r.port, target: r.target });
        }
        break;
      default:
        break; // NODATA
    }
    return { rcode: RCODE.NOERROR, answers };
  }
}

// ---------------------------------------------------------------------------------------------
// wire encoding (RFC 1035 §4)
// ---------------------------------------------------------------------------------------------

/** A growable byte buffer with RFC 1035 §4.1.4 name compression. */
class WireWriter {
  private buf = Buffer.alloc(512);
  length = 0;
  private names = new Map<string, number>();

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v & 0xff, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  patch16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }
  /** Write a domain name; `compress` allows pointers to earlier names (not for SRV targets). */
  name(domain: string, compress: boolean): void {
    const labels = domain.split('.').filter((l) => l.length > 0);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, this.length);
      const label = Buffer.from(labels[i]!, 'latin1');
      if (label.length > 63) throw new Error(`DNS label too long: ${labels[i]}`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

function ipv6Bytes(addr: string): Buffer {
  return Buffer.from(expandIPv6(addr).replace(/:/g, ''), 'hex');
}

interface Question {
  name: string;
  type: number;
  class: number;
}

/** Encode a reply. `id`/`rd` come from the query. */
export function encodeReply(
  id: number,
  rd: boolean,
  question: Question | undefined,
  rcode: number,
  answers: AnswerRecord[],
  tc = false,
): Buffer {
  const w = new WireWriter();
  w.u16(id);
  w.u16(0x8000 | (rd ? 0x0100 : 0) | (tc ? 0x0200 : 0) | 0x0080 | (rcode & 0xf)); // QR, RD?, TC?, RA
  w.u16(question ? 1 : 0);
  w.u16(answers.length);
  w.u16(0);
  w.u16(0);
  if (question) {
    w.name(question.name, true);
    w.u16(question.type);
    w.u16(question.class);
  }
  for (const rr of answers) {
    w.name(rr.name, true);
    w.u16(TYPE[rr.type]);
    w.u16(1); // IN
    w.u32(rr.ttl);
    const lenAt = w.length;
    w.u16(0);
    const start = w.length;
    switch (rr.type) {
      case 'A':
        w.bytes(Buffer.from(rr.address.split('.').map(Number)));
        break;
      case 'AAAA':
        w.bytes(ipv6Bytes(rr.address));
        break;
      case 'CNAME':
        w.name(rr.target, true);
        break;
      case 'SRV':
        w.u16(rr.priority);
        w.u16(rr.weight);
        w.u16(rr.port);
        w.name(rr.target, false); // RFC 2782: no compression for the target
        break;
    }
    w.patch16(lenAt, w.length - start);
  }
  return w.toBuffer();
}

/** The UDP payload size the client advertised with EDNS (RFC 6891), at least 512. */
function udpLimit(request: DnsPacket): number {
  const opt = (request.additionals as unknown as Array<{ type?: number; class?: number }>).find((r) => r?.type === TYPE.OPT);
  return Math.max(512, opt?.class ?? 0);
}

type DnsPacket = InstanceType<typeof Packet>;
type Send = (response: Buffer) => Promise<Buffer>;

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

  const answeredOn = new WeakSet<net.Socket>();
  const handle = (request: DnsPacket, send: Send, client: unknown): void => {
    const transport: 'udp' | 'tcp' = client instanceof net.Socket ? 'tcp' : 'udp';
    const header = request.header as unknown as { id: number; rd: number };
    const q = request.questions[0] as unknown as Question | undefined;
    const limit = transport === 'udp' ? udpLimit(request) : 0xffff;
    /** Encode, truncating (TC, question only) when the reply does not fit the transport. */
    const encode = (rcode: number, answers: AnswerRecord[], tc = false): Buffer => {
      const full = encodeReply(header.id, !!header.rd, q, rcode, answers, tc);
      return full.length <= limit ? full : encodeReply(header.id, !!header.rd, q, rcode, [], true);
    };
    const reply = (fn: () => Buffer): void => {
      const go = () => {
        if (stopped) return;
        try {
          send(fn()).catch(() => undefined);
        } catch {
          /* socket gone */
        }
      };
      if (rttMs > 0) {
        // Over TCP the first answer on a connection also pays the handshake's round trip (the
        // kernel accepted at once, so the question is already here): 2 × RTT, then 1 × RTT.
        const first = transport === 'tcp' && !answeredOn.has(client as net.Socket);
        if (transport === 'tcp') answeredOn.add(client as net.Socket);
        const t = setTimeout(() => {
          timers.delete(t);
          go();
        }, first ? 2 * rttMs : rttMs);
        timers.add(t);
      } else go();
    };
    if (!q) {
      queries.push({ name: '', type: '', transport });
      reply(() => encode(RCODE.FORMERR, []));
      return;
    }
    queries.push({ name: q.name, type: TYPE_NAMES[q.type] ?? `TYPE${q.type}`, transport });
    const outcome = answerQuestion(current, q.name, q.type);
    switch (outcome.fault) {
      case 'silent':
        return;
      case 'servfail':
        return reply(() => encode(RCODE.SERVFAIL, []));
      case 'refused':
        return reply(() => encode(RCODE.REFUSED, []));
      case 'malformed':
        return reply(() => malformedFor(request));
      case 'truncate': {
        if (transport === 'udp') return reply(() => encode(RCODE.NOERROR, [], true));
        const full = answerQuestion({ entries: withoutTruncate(current.entries) }, q.name, q.type);
        return reply(() => encode(full.rcode, full.answers));
      }
      default:
        return reply(() => encode(outcome.rcode, outcome.answers));
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
      // A batch of hundreds of names sends a burst of queries while this process may be busy
      // (TLS handshakes of the lab's hosts): the default ~200 KB socket buffer drops datagrams,
      // which a client sees as timeouts. Ask for 4 MB (the kernel caps it at net.core.rmem_max).
      try {
        udp.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        /* keep the default */
      }
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
