/**
 * A lab for a batch of many server names: one DNS server and a handful of hosts that answer for
 * any name, so 1,000 names cost 1,000 zone entries, not 1,000 servers.
 *
 *   s0001.bench.test … sNNNN.bench.test   A → one of two web servers (127.0.10.1-2) whose
 *       /.well-known/matrix/server delegates each name to its own s0001.hs.bench.test:443
 *       (certificate *.bench.test).
 *   sNNNN.hs.bench.test                   A → one of four homeservers (127.0.20.1-4) that serve
 *       version, health and a key response signed for the server name the Host header names
 *       (certificate *.hs.bench.test) — or, for the broken share, to a silent host (accepts TCP,
 *       never answers), a refusing address, or a homeserver whose certificate no CA trusts.
 *
 * Every address is on loopback and reached through an address-keyed --connect-to, like the
 * scenario lab; ports 443 and 8448 of every address are mapped (unused ones to a refusing port).
 */
import type http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certFor, labCas } from '../src/lab/deployment.js';
import { startDnsServer, type LabDnsServer, type Zone } from '../src/lab/dns-server.js';
import { startHost, type HostFault, type LabHost, type HostTls } from '../src/lab/http-host.js';
import { homeserverHandler, type HomeserverHandler } from '../src/lab/homeserver.js';

export type Breakage = 'silent' | 'refused' | 'bad-certificate';

export interface BatchLab {
  names: string[];
  /** which names are broken, and how */
  broken: Map<string, Breakage>;
  /** arguments for `fedcheck check` (after `check`), names excluded */
  cliArgs: string[];
  /** a file with one server name per line, for --from-file */
  namesFile: string;
  stop(): Promise<void>;
}

const ZONE_SUFFIX = 'bench.test';
const HS_SUFFIX = `hs.${ZONE_SUFFIX}`;

function serverNameOf(i: number): string {
  return `s${String(i + 1).padStart(4, '0')}.${ZONE_SUFFIX}`;
}

/** `s0001.bench.test` from a Host header `s0001.hs.bench.test[:443]` or `s0001.bench.test`. */
function nameFromHost(host: string | undefined): string {
  const h = (host ?? '').toLowerCase().replace(/:\d+$/, '');
  return h.endsWith(`.${HS_SUFFIX}`) ? `${h.slice(0, -HS_SUFFIX.length - 1)}.${ZONE_SUFFIX}` : h;
}

/** A homeserver stand-in for every server name: one handler (and signing key) per name, made on first use. */
function anyNameHomeserver(): http.RequestListener {
  const handlers = new Map<string, HomeserverHandler>();
  return (req, res) => {
    const name = nameFromHost(req.headers.host);
    let h = handlers.get(name);
    if (!h) handlers.set(name, (h = homeserverHandler({ serverName: name })));
    h.requests.length = 0; // keep memory flat over 1,000 names
    h(req, res);
  };
}

/** The web server of every server name: delegates `sNNNN.bench.test` to `sNNNN.hs.bench.test:443`. */
const wellKnownForAnyName: http.RequestListener = (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/.well-known/matrix/server') {
    const name = nameFromHost(req.headers.host);
    const body = JSON.stringify({ 'm.server': `${name.slice(0, -ZONE_SUFFIX.length - 1)}.${HS_SUFFIX}:443` });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain', 'content-length': '9' });
  res.end('not found');
};

export async function startBatchLab(count: number, brokenShare: number, rttMs: number): Promise<BatchLab> {
  const { root } = labCas();
  const webCert = certFor({ names: [`*.${ZONE_SUFFIX}`] });
  const hsCert = certFor({ names: [`*.${HS_SUFFIX}`] });
  const badCert = certFor({ names: [`*.${HS_SUFFIX}`], untrusted: true });
  interface Spec { address: string; tls: HostTls | null; handler?: http.RequestListener; fault?: HostFault }
  const web: Spec[] = ['127.0.10.1', '127.0.10.2'].map((address) => ({ address, tls: webCert, handler: wellKnownForAnyName }));
  const hs: Spec[] = ['127.0.20.1', '127.0.20.2', '127.0.20.3', '127.0.20.4'].map((address) => ({ address, tls: hsCert, handler: anyNameHomeserver() }));
  const bad: Record<Breakage, Spec> = {
    silent: { address: '127.0.30.1', tls: hsCert, fault: 'silent' },
    refused: { address: '127.0.30.2', tls: null, fault: 'refuse' },
    'bad-certificate': { address: '127.0.30.3', tls: badCert, handler: anyNameHomeserver() },
  };
  const specs = [...web, ...hs, ...Object.values(bad)];

  const names: string[] = [];
  const broken = new Map<string, Breakage>();
  const zone: Zone = {};
  const kinds: Breakage[] = ['silent', 'refused', 'bad-certificate'];
  const every = Math.round(1 / brokenShare);
  for (let i = 0; i < count; i++) {
    const name = serverNameOf(i);
    names.push(name);
    zone[name] = { A: [web[i % web.length]!.address] };
    let target = hs[i % hs.length]!.address;
    if (brokenShare > 0 && i % every === every - 1) {
      const kind = kinds[broken.size % kinds.length]!;
      broken.set(name, kind);
      target = bad[kind].address;
    }
    zone[`${name.slice(0, -ZONE_SUFFIX.length - 1)}.${HS_SUFFIX}`] = { A: [target] };
  }

  const hosts: LabHost[] = [];
  let dns: LabDnsServer | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'fedcheck-bench-'));
  try {
    dns = await startDnsServer(zone, { rttMs });
    const started = await Promise.all(
      specs.map((s) => startHost({ address: s.address, tls: s.tls, rttMs, ...(s.handler ? { handler: s.handler } : {}), ...(s.fault ? { fault: s.fault } : {}) })),
    );
    hosts.push(...started);
    const nothing = await startHost({ address: '127.0.0.1', fault: 'refuse' });
    hosts.push(nothing);
    const connectTo: string[] = [];
    specs.forEach((s, i) => {
      connectTo.push(`${s.address}:443:${started[i]!.address}:${started[i]!.port}`);
      connectTo.push(`${s.address}:8448:${nothing.address}:${nothing.port}`);
    });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, root.certPem);
    const namesFile = join(dir, 'names.txt');
    writeFileSync(namesFile, `${names.join('\n')}\n`);
    const cliArgs = ['--resolver', dns.address, ...connectTo.flatMap((c) => ['--connect-to', c]), '--cacert', caFile];
    const d = dns;
    return {
      names,
      broken,
      cliArgs,
      namesFile,
      async stop() {
        await Promise.all([d.stop(), ...hosts.map((h) => h.stop())]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all([dns?.stop(), ...hosts.map((h) => h.stop())]);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
