/**
 * A hostile DNS front for the corpus: UDP and TCP on one port of 127.0.0.1. A `respond` function
 * sees every question and may answer it with any bytes at all (or not at all); questions it
 * declines (returns `undefined`) are relayed to an upstream server — normally the ordinary lab
 * DNS server with the scenario's zone — over the same transport, and its answer relayed back.
 *
 * What the ordinary lab server cannot do and this can: more SRV records than a DNS message holds,
 * answers that lie about their record count, answers for another question or with another id,
 * a server that is silent on every question.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeReply, type AnswerRecord } from '../dns-server.js';

export interface DnsQuestion {
  id: number;
  rd: boolean;
  name: string;
  type: number;
  class: number;
  transport: 'udp' | 'tcp';
  /** the whole query message */
  raw: Buffer;
}

/**
 * `Buffer`: send it (over TCP the 2-byte length prefix is added, the message cut at 65,535 bytes);
 * `null`: never answer; `undefined`: relay to the upstream server.
 */
export type DnsResponder = (q: DnsQuestion) => Buffer | null | undefined;

export interface HostileDns {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:PORT` */
  address: string;
  questions: DnsQuestion[];
  stop(): Promise<void>;
}

export const QTYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33 } as const;

/** Parse the first question of a query; null if it is not one. */
export function parseQuestion(msg: Buffer, transport: 'udp' | 'tcp'): DnsQuestion | null {
  try {
    if (msg.length < 12) return null;
    const id = msg.readUInt16BE(0);
    const rd = (msg.readUInt16BE(2) & 0x0100) !== 0;
    if (msg.readUInt16BE(4) < 1) return null;
    let i = 12;
    const labels: string[] = [];
    while (i < msg.length && msg[i]! !== 0) {
      const len = msg[i]!;
      if (len > 63) return null;
      labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
      i += len + 1;
    }
    i++;
    if (i + 4 > msg.length) return null;
    return { id, rd, name: labels.join('.'), type: msg.readUInt16BE(i), class: msg.readUInt16BE(i + 2), transport, raw: msg };
  } catch {
    return null;
  }
}

/** An ordinary answer to `q` (convenience over the lab encoder). */
export function answer(q: DnsQuestion, answers: AnswerRecord[], opts: { rcode?: number; tc?: boolean } = {}): Buffer {
  return encodeReply(q.id, q.rd, { name: q.name, type: q.type, class: q.class }, opts.rcode ?? 0, answers, opts.tc ?? false);
}

export async function startHostileDns(respond: DnsResponder, upstream: { host: string; port: number } | null): Promise<HostileDns> {
  let last: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return await tryStart(respond, upstream);
    } catch (e) {
      last = e;
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw new Error(`hostile DNS could not bind 127.0.0.1: ${(last as Error)?.message ?? last}`);
}

async function tryStart(respond: DnsResponder, upstream: { host: string; port: number } | null): Promise<HostileDns> {
  const questions: DnsQuestion[] = [];
  const sockets = new Set<net.Socket>();
  const udpRelays = new Set<dgram.Socket>();
  let stopped = false;

  const udp = dgram.createSocket('udp4');
  udp.on('error', () => undefined);
  udp.on('message', (msg, rinfo) => {
    const q = parseQuestion(msg, 'udp');
    if (!q) return;
    questions.push(q);
    const r = respond(q);
    if (r === null || stopped) return;
    if (r !== undefined) {
      udp.send(r, rinfo.port, rinfo.address);
      return;
    }
    if (!upstream) return;
    const relay = dgram.createSocket('udp4');
    udpRelays.add(relay);
    const done = () => {
      udpRelays.delete(relay);
      try {
        relay.close();
      } catch {
        /* closed */
      }
    };
    relay.on('error', done);
    relay.on('message', (ans) => {
      if (!stopped) udp.send(ans, rinfo.port, rinfo.address);
      done();
    });
    relay.send(msg, upstream.port, upstream.host);
    setTimeout(done, 5000).unref();
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;

  const tcp = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const q = parseQuestion(Buffer.from(msg), 'tcp');
        if (!q) continue;
        questions.push(q);
        const r = respond(q);
        if (r === null || stopped) continue;
        if (r !== undefined) {
          const body = r.subarray(0, 0xffff);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(body.length);
          s.write(Buffer.concat([len, body]));
          continue;
        }
        if (!upstream) continue;
        const up = net.connect({ host: upstream.host, port: upstream.port });
        sockets.add(up);
        up.on('close', () => sockets.delete(up));
        up.on('error', () => undefined);
        const framed = Buffer.alloc(2 + msg.length);
        framed.writeUInt16BE(msg.length);
        msg.copy(framed, 2);
        up.write(framed);
        up.pipe(s, { end: false });
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    udp.close();
    throw e;
  }

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    questions,
    async stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
      for (const r of udpRelays) {
        try {
          r.close();
        } catch {
          /* closed */
        }
      }
      await Promise.all([new Promise<void>((r) => tcp.close(() => r())), new Promise<void>((r) => udp.close(() => r()))]);
    },
  };
}
