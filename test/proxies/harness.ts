/**
 * Real reverse proxies for the tests: each one runs as a foreground child process with its own
 * config, pid, log and temp paths in a temp dir, listening on a loopback port, with TLS from a CA
 * minted in the test. Every process started here is stopped by its PID (never by name), and
 * system services are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createCa, issueCert, type CertAuthority } from '../../src/lab/ca.js';

export type ProxyKind = 'nginx' | 'apache' | 'caddy' | 'haproxy';

export const BINARIES: Record<ProxyKind, string[]> = {
  nginx: ['/usr/sbin/nginx', '/usr/bin/nginx'],
  apache: ['/usr/sbin/apache2', '/usr/sbin/httpd'],
  caddy: ['/usr/bin/caddy', '/usr/local/bin/caddy'],
  haproxy: ['/usr/sbin/haproxy', '/usr/bin/haproxy'],
};

export function findBinary(kind: ProxyKind): string | null {
  return BINARIES[kind].find((p) => existsSync(p)) ?? null;
}

/**
 * Whether the tests of `kind` can run. A missing proxy skips them with a reason — except under CI
 * (`CI` set), where `mustFail` is set and the test file registers a failing test instead, so a
 * broken install never passes silently.
 */
export function proxyAvailability(kind: ProxyKind): { run: boolean; reason?: string; mustFail?: boolean } {
  if (findBinary(kind)) return { run: true };
  const reason = `${kind} is not installed (${BINARIES[kind].join(' or ')} missing; run .ci/proxies.sh)`;
  return { run: false, reason, mustFail: !!process.env.CI };
}

/** A free loopback TCP port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Tls {
  ca: CertAuthority;
  certFile: string;
  keyFile: string;
  /** cert + key in one file (HAProxy) */
  pemFile: string;
  caFile: string;
}

let sharedCa: CertAuthority | null = null;

/** Mint (once per process) a CA and a leaf for the given names; write the files into dir. */
export function writeTls(dir: string, dnsNames: string[]): Tls {
  sharedCa ??= createCa({ commonName: 'fedcheck proxy-test CA' });
  const leaf = issueCert(sharedCa, { dnsNames, ipAddresses: ['127.0.0.1'] });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const pemFile = path.join(dir, 'haproxy.pem');
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(certFile, leaf.chainPem);
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  writeFileSync(pemFile, leaf.chainPem + leaf.keyPem, { mode: 0o600 });
  writeFileSync(caFile, sharedCa.certPem);
  return { ca: sharedCa, certFile, keyFile, pemFile, caFile };
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fedcheck-${prefix}-`));
  // nginx/apache workers may drop privileges when started as root: let them traverse the dir.
  chmodSync(dir, 0o755);
  return dir;
}

export interface RunningProxy {
  kind: ProxyKind;
  pid: number;
  port: number;
  dir: string;
  /** stderr/stdout and log files, for failure messages */
  logs(): string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, logs: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited: string | null = null;
  child.once('exit', (code, sig) => {
    exited = `exited with ${code ?? sig}`;
  });
  while (Date.now() < until) {
    if (exited) throw new Error(`proxy ${exited} before listening:\n${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${logs()}`);
}

/** Children started by this process and not yet exited, by PID. */
const running = new Map<number, ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (child.pid === undefined) return;
  running.set(child.pid, child);
  child.once('exit', () => running.delete(child.pid!));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test process ends while a proxy still runs (a timeout, an uncaught error), stop it by
  // its PID: SIGTERM lets nginx/Apache/HAProxy take their worker processes down with them.
  process.once('exit', () => {
    for (const pid of running.keys()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Stop a child we started, by its PID: SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * Start a proxy with the given config text (already containing the port and paths).
 * `port` is the TLS port it listens on; resolves once the port accepts connections.
 */
export async function startProxy(kind: ProxyKind, dir: string, config: string, port: number): Promise<RunningProxy> {
  const bin = findBinary(kind);
  if (!bin) throw new Error(`${kind} is not installed`);
  let args: string[];
  let confFile: string;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, LANG: 'C' };
  switch (kind) {
    case 'nginx':
      confFile = path.join(dir, 'nginx.conf');
      for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(path.join(dir, d), { recursive: true });
      args = ['-p', dir + '/', '-c', confFile, '-g', 'daemon off;', '-e', path.join(dir, 'error.log')];
      break;
    case 'apache':
      confFile = path.join(dir, 'httpd.conf');
      args = ['-f', confFile, '-DFOREGROUND'];
      Object.assign(env, {
        APACHE_RUN_DIR: dir,
        APACHE_PID_FILE: path.join(dir, 'httpd.pid'),
        APACHE_LOCK_DIR: dir,
        APACHE_LOG_DIR: dir,
        APACHE_RUN_USER: 'nobody',
        APACHE_RUN_GROUP: 'nogroup',
      });
      break;
    case 'caddy':
      confFile = path.join(dir, 'Caddyfile');
      args = ['run', '--config', confFile, '--adapter', 'caddyfile'];
      Object.assign(env, { XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') });
      break;
    case 'haproxy':
      confFile = path.join(dir, 'haproxy.cfg');
      args = ['-f', confFile, '-db'];
      break;
  }
  writeFileSync(confFile, config);
  const outFile = path.join(dir, 'stdio.log');
  let stdio = '';
  const child = spawn(bin, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const collect = (b: Buffer) => {
    if (stdio.length < 200_000) stdio += b.toString('utf8');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const logs = () => {
    let text = `--- ${kind} ${args.join(' ')}\n--- config:\n${config}\n--- stdio:\n${stdio}`;
    for (const f of ['error.log', 'caddy.log']) {
      const p = path.join(dir, f);
      if (existsSync(p)) text += `\n--- ${f}:\n${readFileSync(p, 'utf8').slice(-4000)}`;
    }
    writeFileSync(outFile, stdio);
    return text;
  };
  try {
    await waitForPort(port, child, 15_000, logs);
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return {
    kind,
    pid: child.pid!,
    port,
    dir,
    logs,
    stop: () => stopChild(child),
  };
}

/** Remove a temp dir (best effort). */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}
