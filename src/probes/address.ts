/**
 * Per-address probes (blackbox-style: one prober, every resolved address). A remote homeserver
 * may pick any address of any target, so each gets its own connection — with the SNI and Host of
 * spec §1.1 — and all of that address's requests are pipelined on it: the TLS facts come from the
 * very connection the probes used.
 */
import * as net from 'node:net';
import type { HttpExchange, NetError, Resolution, TlsEvidence } from '../core/types.js';
import { Connection, type NetContext } from '../net/http.js';

export interface AddressEvidence {
  /** logical `address:port` (what DNS / the spec named), as used in findings' `target` */
  target: string;
  /** the resolution target host this address belongs to */
  host: string;
  address: string;
  port: number;
  /** where the connection really went, when --connect-to moved it */
  connectedTo: string | null;
  tls: TlsEvidence | null;
  connectError: NetError | null;
  version: HttpExchange;
  keys: HttpExchange;
  health: HttpExchange;
}

export function formatTarget(address: string, port: number): string {
  return `${net.isIPv6(address) ? `[${address}]` : address}:${port}`;
}

export const KEY_BODY_CAP = 256 * 1024;

export async function probeAddresses(ctx: NetContext, resolution: Resolution): Promise<AddressEvidence[]> {
  const jobs: Array<Promise<AddressEvidence>> = [];
  const seen = new Set<string>();
  for (const t of resolution.targets) {
    for (const address of t.addresses) {
      const target = formatTarget(address, t.port);
      if (seen.has(target)) continue;
      seen.add(target);
      jobs.push(probeOne(ctx, resolution, t.host, address, t.port, target));
    }
  }
  return Promise.all(jobs);
}

async function probeOne(ctx: NetContext, resolution: Resolution, host: string, address: string, port: number, target: string): Promise<AddressEvidence> {
  const mapped = ctx.connectMap.byAddress(address, port);
  const endpoint = {
    scheme: 'https' as const,
    address: mapped && net.isIP(mapped.host) ? mapped.host : address,
    port: mapped ? mapped.port : port,
    servername: resolution.tlsServerName,
  };
  const conn = new Connection(ctx, endpoint);
  // lent to the compatibility probe of this address (src/probes/client.ts)
  ctx.share?.register(conn);
  const hostHeader = resolution.hostHeader;
  const base = `https://${hostHeader}`;
  try {
    // The first request opens the connection; the others are pipelined behind it.
    const versionP = conn.request({ path: '/_matrix/federation/v1/version', hostHeader, url: `${base}/_matrix/federation/v1/version` });
    const keysP = conn.request({ path: '/_matrix/key/v2/server', hostHeader, url: `${base}/_matrix/key/v2/server`, maxBodyBytes: KEY_BODY_CAP });
    const healthP = conn.request({ path: '/health', hostHeader, url: `${base}/health`, maxBodyBytes: 4096 });
    const [version, keys, health] = await Promise.all([versionP, keysP, healthP]);
    return {
      target,
      host,
      address,
      port,
      connectedTo: mapped ? formatTarget(endpoint.address, endpoint.port) : null,
      tls: conn.tls,
      connectError: conn.tls ? null : conn.connectError ?? version.error,
      version,
      keys,
      health,
    };
  } finally {
    await (ctx.share ? ctx.share.release(conn) : conn.close());
  }
}
