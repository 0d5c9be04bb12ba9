/**
 * Bring a Scenario up on loopback: a DNS server with its zone, one HTTP(S) host per LabHostSpec
 * with certificates from a CA minted for the process, and the run options that point `check` at
 * it (--resolver, address-keyed --connect-to port mappings, the CA). Stop it with `stop()`.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as http from 'node:http';
import { createCa, createIntermediate, issueCert, type CertAuthority } from './ca.js';
import { startDnsServer, type LabDnsServer } from './dns-server.js';
import { startHost, type LabHost, type HostTls } from './http-host.js';
import { homeserverHandler, type KeyOverrides, type StaticResponse } from './homeserver.js';
import { generateSigningKey } from '../core/signing.js';
import { createBackendLogic, type BackendLogic } from '../backend/server.js';
import { labProxyHandler } from './lab-proxy.js';
import type { LabCertSpec, LabHostSpec, LabResponse, Scenario } from './scenario-types.js';
import type { RunOptions } from '../run/options.js';

interface LabCas {
  root: CertAuthority;
  intermediate: CertAuthority;
  untrusted: CertAuthority;
}

let cas: LabCas | null = null;
/** One CA hierarchy per process: RSA key generation is slow. */
export function labCas(): LabCas {
  if (!cas) {
    const root = createCa({ commonName: 'fedcheck lab root CA' });
    const intermediate = createIntermediate(root, { commonName: 'fedcheck lab intermediate CA' });
    // An untrusted hierarchy whose intermediate IS sent (like a staging CA): "not trusted", not
    // "incomplete chain".
    const untrustedRoot = createCa({ commonName: 'untrusted root CA (not in any trust store)' });
    const untrusted = createIntermediate(untrustedRoot, { commonName: 'untrusted intermediate CA' });
    cas = { root, intermediate, untrusted };
  }
  return cas;
}

const DAY = 86_400_000;

export function certFor(spec: LabCertSpec): HostTls {
  const { intermediate, untrusted } = labCas();
  const now = Date.now();
  const notBefore = spec.notYetValid ? new Date(now + 10 * DAY) : spec.expired ? new Date(now - 100 * DAY) : new Date(now - 3600_000);
  const notAfter = spec.notYetValid ? new Date(now + 100 * DAY) : spec.expired ? new Date(now - 10 * DAY) : spec.expiresInDays !== undefined ? new Date(now + spec.expiresInDays * DAY) : new Date(now + 90 * DAY);
  const issued = issueCert(spec.untrusted ? untrusted : intermediate, {
    dnsNames: spec.names ?? [],
    ipAddresses: spec.ips ?? [],
    notBefore,
    notAfter,
    selfSigned: !!spec.selfSigned,
    omitIntermediates: !!spec.omitIntermediate,
    // ECDSA unless asked otherwise: what current ACME clients issue, and a lab server's handshake
    // then costs ~50 µs of signing instead of ~1 ms (RSA-2048) — a benchmark burst opens dozens
    keyType: spec.keyType ?? 'ecdsa',
  });
  return { certPem: issued.certPem, keyPem: issued.keyPem, chainPem: issued.chainPem };
}

function toStatic(r: LabResponse): StaticResponse {
  if (r.redirect !== undefined) {
    return { status: r.status ?? 302, headers: { location: r.redirect, ...(r.headers ?? {}) }, body: r.body ?? '' };
  }
  const out: StaticResponse = { status: r.status ?? 200 };
  if (r.headers) out.headers = r.headers;
  if (r.body !== undefined) out.body = r.body;
  return out;
}

/** LabHostSpec.acceptHosts: an exact-match Host rule in front of the host's handler. */
/** One signing key per server name per deployment: load-balanced instances share their key. */
type KeyRing = Map<string, ReturnType<typeof generateSigningKey>>;

function handlerFor(spec: LabHostSpec, ring: KeyRing): http.RequestListener {
  const inner = baseHandlerFor(spec, ring);
  if (!spec.acceptHosts) return inner;
  const accepted = new Set(spec.acceptHosts.map((h) => h.toLowerCase()));
  return (req, res) => {
    if (accepted.has(String(req.headers.host ?? '').toLowerCase())) return inner(req, res);
    res.writeHead(503, { 'content-type': 'text/html' });
    res.end('<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>');
  };
}

function baseHandlerFor(spec: LabHostSpec, ring: KeyRing): http.RequestListener {
  const routes: Record<string, StaticResponse> = {};
  for (const [path, r] of Object.entries(spec.routes ?? {})) routes[path] = toStatic(r);
  if (spec.homeserver) {
    const hs = spec.homeserver;
    const k = hs.keys ?? {};
    const overrides: KeyOverrides = {};
    if (k.serverName !== undefined) overrides.serverName = k.serverName;
    if (k.validUntilOffsetMs !== undefined) overrides.validUntilTs = Date.now() + k.validUntilOffsetMs;
    if (k.signWithUnknownKey) overrides.signWith = generateSigningKey();
    if (k.tamper) overrides.tamper = { valid_until_ts: Date.now() + 365 * DAY };
    let signingKey = ring.get(hs.serverName);
    if (!signingKey) ring.set(hs.serverName, (signingKey = generateSigningKey()));
    return homeserverHandler({
      serverName: hs.serverName,
      signingKey,
      ...(hs.software ? { software: hs.software } : {}),
      keyOverrides: overrides,
      health: hs.health ?? true,
      routes,
    });
  }
  return (req, res) => {
    const url = req.url ?? '/';
    const r = routes[url] ?? routes[url.split('?')[0]!];
    if (!r) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    const headers: Record<string, string> = { ...(typeof r.body === 'object' && r.body !== null ? { 'content-type': 'application/json' } : {}), ...(r.headers ?? {}) };
    res.writeHead(r.status, headers);
    res.end(body);
  };
}

export function isLoopback(a: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || a === '::1';
}

function bindAddress(a: string): string {
  if (isLoopback(a)) return a;
  return a.includes(':') ? '::1' : '127.0.0.1';
}

export interface LabDeployment {
  scenario: Scenario;
  serverName: string;
  dns: LabDnsServer;
  hosts: LabHost[];
  /** the lab root CA, PEM */
  caPem: string;
  /** a temporary PEM file holding the CA, for the equivalent command line */
  caFile: string;
  /** options for runServers()/gatherServer() */
  runOptions: RunOptions;
  /** the equivalent `fedcheck check` arguments (after `check`) */
  cliArgs: string[];
  stop(): Promise<void>;
}

export interface LabOptions {
  rttMs?: number;
  timeoutMs?: number;
}

export async function startLab(scenario: Scenario, opts: LabOptions = {}): Promise<LabDeployment> {
  const rttMs = opts.rttMs ?? 0;
  const { root } = labCas();
  const hosts: LabHost[] = [];
  const backends = new Map<string, BackendLogic>();
  let dns: LabDnsServer | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'fedcheck-lab-'));
  const caFile = join(dir, 'lab-ca.pem');
  writeFileSync(caFile, root.certPem);
  try {
    dns = await startDnsServer(scenario.zone, { rttMs });
    const connectTo: string[] = [];
    // Every address the zone names, on every port a check may try, must be the lab's: ports
    // nobody serves get a 'refuse' host, so nothing on this machine outside the lab is reached.
    const specs: LabHostSpec[] = [...scenario.hosts];
    const ports = new Set<number>([443, 8448, ...scenario.hosts.map((h) => h.port)]);
    const addrs = new Set<string>(scenario.hosts.map((h) => h.address));
    for (const e of Object.values(scenario.zone)) {
      for (const a of [...(e.A ?? []), ...(e.AAAA ?? [])]) addrs.add(a);
      for (const s of e.SRV ?? []) if (s.port > 0) ports.add(s.port);
    }
    for (const a of addrs) {
      for (const p of ports) {
        if (!specs.some((h) => h.address === a && h.port === p)) specs.push({ address: a, port: p, fault: 'refuse' });
      }
    }
    const keyRing: KeyRing = new Map();
    // One stand-in backend per proxied server name, behind the lab proxies (handed each request
    // in-process: see lab-proxy.ts).
    for (const h of specs) {
      if (h.proxy && !backends.has(h.proxy.serverName)) {
        backends.set(h.proxy.serverName, createBackendLogic({ serverName: h.proxy.serverName }));
      }
    }
    const settled = await Promise.allSettled(
      specs.map((h) =>
        startHost({
          // Addresses off loopback (e.g. a private-range target) are served on loopback and mapped.
          address: bindAddress(h.address),
          tls: h.tls ? certFor(h.tls) : null,
          handler: h.proxy ? labProxyHandler(backends.get(h.proxy.serverName)!, h.proxy) : handlerFor(h, keyRing),
          rttMs,
          ...(h.fault ? { fault: h.fault } : {}),
        }),
      ),
    );
    // Keep every host that did start, so the catch below stops them if another one failed.
    for (const r of settled) if (r.status === 'fulfilled') hosts.push(r.value);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const started = settled.map((r) => (r as PromiseFulfilledResult<LabHost>).value);
    specs.forEach((h, i) => {
      const host = started[i]!;
      const a = h.address.includes(':') ? `[${h.address}]` : h.address;
      const b = host.address.includes(':') ? `[${host.address}]` : host.address;
      connectTo.push(`${a}:${h.port}:${b}:${host.port}`);
    });
    const runOptions: RunOptions = {
      resolvers: [dns.address],
      resolve: [],
      connectTo,
      cacert: [],
      extraCaPems: [root.certPem],
      family: 0,
      timeoutMs: opts.timeoutMs ?? 10_000,
      backend: null,
    };
    const cliArgs = [scenario.serverName, '--resolver', dns.address, ...connectTo.flatMap((c) => ['--connect-to', c]), '--cacert', caFile];
    const d = dns;
    return {
      scenario,
      serverName: scenario.serverName,
      dns: d,
      hosts,
      caPem: root.certPem,
      caFile,
      runOptions,
      cliArgs,
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
