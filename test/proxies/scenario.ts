/**
 * One real-proxy scenario: the stand-in backend (or a homeserver-like backend for live mode), a
 * proxy with a given configuration in front of it, fedcheck's proxy probe through it, and the four
 * checks over the evidence. Everything on loopback; every process stopped by PID.
 */
import { startBackend, type RunningBackend } from '../../src/backend/server.js';
import { probeProxy, type ProxyEndpointEvidence, type ProxyEvidence } from '../../src/probes/proxy.js';
import type { EndpointRole } from '../../src/core/proxy-probes.js';
import type { Finding } from '../../src/core/types.js';
import { DnsClient } from '../../src/net/dns.js';
import { ConnectMap } from '../../src/net/connect-map.js';
import { buildTrust } from '../../src/net/trust.js';
import type { NetContext } from '../../src/net/http.js';
import { judge as judgeUri } from '../../src/checks/uri-canonicalization.js';
import { judge as judgeForwarded } from '../../src/checks/forwarded-headers.js';
import { judge as judgeUpload } from '../../src/checks/upload-limit.js';
import { judge as judgeAdmin } from '../../src/checks/admin-exposure.js';
import { configFor, type Variant } from './configs.js';
import { freePort, removeDir, startProxy, tempDir, writeTls, type ProxyKind } from './harness.js';

export const PUBLIC_NAME = 'matrix.example.com';

export interface ScenarioResult {
  evidence: ProxyEndpointEvidence;
  uri: Finding[];
  forwarded: Finding[];
  upload: Finding[];
  admin: Finding[];
}

export function netContext(caPem: string, timeoutMs = 60_000): NetContext {
  return {
    // no DNS is needed (the endpoint is an address); a resolver that could only ask loopback
    dns: new DnsClient({ servers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1 }),
    connectMap: new ConnectMap(),
    trust: buildTrust([], [caPem]),
    deadline: Date.now() + timeoutMs,
    stepTimeoutMs: 5_000,
    family: 0,
    userAgent: 'fedcheck-test',
  };
}

/** A shared backend per test file (started lazily). */
export class Backends {
  private standIn: Promise<RunningBackend> | null = null;
  private homeserver: Promise<RunningBackend> | null = null;
  get(live: boolean): Promise<RunningBackend> {
    if (live) return (this.homeserver ??= startBackend({ listen: '127.0.0.1:0', serverName: 'example.com', echo: false }));
    return (this.standIn ??= startBackend({ listen: '127.0.0.1:0', serverName: 'example.com' }));
  }
  async stop(): Promise<void> {
    await Promise.all([this.standIn, this.homeserver].map(async (p) => (p ? (await p).stop() : undefined)));
  }
}

export async function runScenario(
  backends: Backends,
  kind: ProxyKind,
  variant: Variant,
  opts: { role?: EndpointRole; live?: boolean; upload?: boolean } = {},
): Promise<ScenarioResult> {
  const backend = await backends.get(opts.live === true);
  const dir = tempDir(`${kind}-${variant}`);
  const port = await freePort();
  const tls = writeTls(dir, [PUBLIC_NAME]);
  const config = configFor(kind, { dir, port, backendPort: backend.port, tls, serverName: PUBLIC_NAME }, variant);
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  try {
    proxy = await startProxy(kind, dir, config, port);
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  try {
    const ctx = netContext(tls.ca.certPem);
    const evidence = await probeProxy(ctx, {
      endpoint: { scheme: 'https', address: '127.0.0.1', port, servername: PUBLIC_NAME },
      hostHeader: PUBLIC_NAME,
      role: opts.role ?? 'both',
      label: `${kind} ${variant}`,
      upload: opts.upload,
      uploadWaitMs: 1500,
    });
    const pe: ProxyEvidence = { endpoints: [evidence], notes: [] };
    // evidence must survive a JSON round trip (saved bundles are judged offline)
    const again = JSON.parse(JSON.stringify(pe)) as ProxyEvidence;
    return {
      evidence,
      uri: judgeUri(again, 'example.com'),
      forwarded: judgeForwarded(again, 'example.com'),
      upload: judgeUpload(again),
      admin: judgeAdmin(again),
    };
  } catch (e) {
    (e as Error).message += `\n${proxy.logs()}`;
    throw e;
  } finally {
    await proxy.stop();
    removeDir(dir);
  }
}

/** Difference messages of a uri-canonicalization finding, flattened and de-duplicated. */
export function differenceMessages(f: Finding): string[] {
  const changed = (f.details?.changed ?? []) as Array<{ differences: Array<{ message: string }> }>;
  return [...new Set(changed.flatMap((c) => c.differences.map((d) => d.message)))].sort();
}

export function differenceCodes(f: Finding): string[] {
  const changed = (f.details?.changed ?? []) as Array<{ differences: Array<{ code: string }> }>;
  return [...new Set(changed.flatMap((c) => c.differences.map((d) => d.code)))].sort();
}

export function problemCodes(fs: Finding[]): string[] {
  return fs.map((f) => (f.details?.code as string | undefined) ?? `(${f.status})`).sort();
}

/** The proxy named first in a hint ("nginx (detected): …"). */
export function detectedInHint(f: Finding): string | null {
  const m = /^(\w+) \(detected\):/m.exec(f.hint ?? '');
  return m ? m[1]! : null;
}

import { after, describe, test } from 'node:test';
import { proxyAvailability } from './harness.js';

/**
 * Register the tests of one proxy: skipped with a reason when it is not installed — a failing test
 * instead when `CI` is set (a missing proxy must never pass silently).
 */
export function proxySuite(kind: ProxyKind, body: (backends: Backends) => void): void {
  const avail = proxyAvailability(kind);
  if (!avail.run && avail.mustFail) {
    test(`${kind} is installed (required when CI is set)`, () => {
      throw new Error(avail.reason);
    });
    return;
  }
  describe(`${kind} (real proxy)`, avail.run ? {} : { skip: avail.reason }, () => {
    const backends = new Backends();
    after(() => backends.stop());
    body(backends);
  });
}
