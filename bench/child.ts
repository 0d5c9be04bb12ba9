/** Start a helper process (a lab) and read its first stdout line as JSON. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Helper<T> {
  info: T;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function startHelper<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Helper<T>> {
  return new Promise((resolve, reject) => {
    // BENCH_CHILD_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p": node options for the helper
    // alone (NODE_OPTIONS would apply to the benchmark too, and refuses --cpu-prof).
    const nodeArgs = (env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      let info: T;
      try {
        info = JSON.parse(buf.slice(0, nl)) as T;
      } catch (e) {
        child.kill();
        reject(new Error(`${script}: bad first line: ${buf.slice(0, 200)}`));
        return;
      }
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      resolve({
        info,
        child,
        async stop() {
          child.stdin!.end();
          const t = setTimeout(() => child.kill(), 5000);
          await exited;
          clearTimeout(t);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
    child.once('error', reject);
  });
}
