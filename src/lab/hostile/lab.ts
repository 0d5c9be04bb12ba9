/**
 * A hostile deployment: an ordinary lab Scenario (DNS zone, declarative hosts, refused ports —
 * see lab/deployment.ts) plus raw misbehaving hosts (raw-host.ts) and, optionally, a hostile DNS
 * front (dns.ts) in front of the lab's DNS server. Raw hosts take precedence over the
 * declarative ones for the same address and port.
 *
 * Every port any lab listener uses is added to {@link labPorts}, so a test can assert that
 * fedcheck never opened a connection to anything else on the machine ("never wander").
 */
import { startLab, certFor, type LabDeployment } from '../deployment.js';
import type { LabCertSpec, Scenario } from '../scenario-types.js';
import type { RunOptions } from '../../run/options.js';
import { startRawHost, type RawConnectionHandler, type RawHost, type RawTls } from './raw-host.js';
import { startHostileDns, type DnsResponder, type HostileDns } from './dns.js';

export interface RawHostSpec {
  /** the address a real deployment would use (loopback; mapped like the lab's hosts) */
  address: string;
  port: number;
  /** further addresses (same port) whose connections also go to this host */
  aliases?: string[];
  /** lab-CA certificate (LabCertSpec) or explicit material (RawTls); absent = plain TCP */
  tls?: LabCertSpec | RawTls;
  onConnection?: RawConnectionHandler;
  onTcp?: RawConnectionHandler;
}

export interface HostileDeployment {
  scenario: Scenario;
  raw?: RawHostSpec[];
  /** put a hostile DNS front before the lab's DNS server */
  dns?: DnsResponder;
  /** the front does not relay anything it declines (a DNS server that only knows its rules) */
  dnsNoUpstream?: boolean;
  /** further CA certificates to trust (PEM), e.g. the root of a raw host's own chain */
  extraCaPems?: string[];
}

export interface HostileLab {
  def: HostileDeployment;
  serverName: string;
  lab: LabDeployment;
  /** raw hosts in the order of `def.raw` */
  raw: RawHost[];
  dns: HostileDns | null;
  runOptions: RunOptions;
  /** the equivalent `fedcheck check` arguments */
  cliArgs: string[];
  stop(): Promise<void>;
}

/** Every port a lab listener (HTTP host, raw host, DNS) of this process has used. */
export const labPorts = new Set<number>();

function isRawTls(t: LabCertSpec | RawTls): t is RawTls {
  return typeof (t as RawTls).chainPem === 'string';
}

export async function startHostileLab(def: HostileDeployment, opts: { timeoutMs?: number } = {}): Promise<HostileLab> {
  const lab = await startLab(def.scenario, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  const raw: RawHost[] = [];
  let dns: HostileDns | null = null;
  try {
    for (const h of lab.hosts) labPorts.add(h.port);
    labPorts.add(lab.dns.port);
    for (const spec of def.raw ?? []) {
      let tls: RawTls | undefined;
      if (spec.tls) {
        if (isRawTls(spec.tls)) tls = spec.tls;
        else {
          const c = certFor(spec.tls);
          tls = { chainPem: c.chainPem || c.certPem, keyPem: c.keyPem };
        }
      }
      const bind = /^127\./.test(spec.address) || spec.address === '::1' ? spec.address : '127.0.0.1';
      const host = await startRawHost({
        address: bind,
        ...(tls ? { tls } : {}),
        ...(spec.onConnection ? { onConnection: spec.onConnection } : {}),
        ...(spec.onTcp ? { onTcp: spec.onTcp } : {}),
      });
      raw.push(host);
      labPorts.add(host.port);
    }
    if (def.dns) {
      dns = await startHostileDns(def.dns, def.dnsNoUpstream ? null : { host: lab.dns.host, port: lab.dns.port });
      labPorts.add(dns.port);
    }
  } catch (e) {
    await Promise.all([lab.stop(), ...raw.map((r) => r.stop()), dns?.stop()]);
    throw e;
  }
  const br = (a: string) => (a.includes(':') ? `[${a}]` : a);
  const rawConnectTo = (def.raw ?? []).flatMap((spec, i) =>
    [spec.address, ...(spec.aliases ?? [])].map((a) => `${br(a)}:${spec.port}:${br(raw[i]!.address)}:${raw[i]!.port}`),
  );
  const connectTo = [...rawConnectTo, ...lab.runOptions.connectTo];
  const resolvers = dns ? [dns.address] : lab.runOptions.resolvers;
  const runOptions: RunOptions = { ...lab.runOptions, resolvers, connectTo, extraCaPems: [...(lab.runOptions.extraCaPems ?? []), ...(def.extraCaPems ?? [])] };
  const cliArgs = [def.scenario.serverName, ...resolvers.flatMap((r) => ['--resolver', r]), ...connectTo.flatMap((c) => ['--connect-to', c]), '--cacert', lab.caFile];
  const d = dns;
  return {
    def,
    serverName: def.scenario.serverName,
    lab,
    raw,
    dns: d,
    runOptions,
    cliArgs,
    async stop() {
      await Promise.all([...raw.map((r) => r.stop()), d?.stop(), lab.stop()]);
    },
  };
}
