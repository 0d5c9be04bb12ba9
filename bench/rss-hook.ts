/**
 * `node --import <this file> bin/fedcheck.js …`: at exit, append this process's peak RSS and CPU
 * time as one JSON line to the file named by FEDCHECK_BENCH_USAGE, with the memory breakdown
 * (heap, external, array buffers) sampled every 250 ms at the moment RSS was highest.
 * Loaded by the benchmark only.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.FEDCHECK_BENCH_USAGE;
if (file) {
  let peak = process.memoryUsage();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 250);
  timer.unref();
  process.on('exit', (code) => {
    const u = process.resourceUsage();
    const mb = (n: number) => Math.round(n / 2 ** 20);
    const atPeak = { rssMb: mb(peak.rss), heapUsedMb: mb(peak.heapUsed), heapTotalMb: mb(peak.heapTotal), externalMb: mb(peak.external), arrayBuffersMb: mb(peak.arrayBuffers) };
    appendFileSync(file, `${JSON.stringify({ maxRssKb: u.maxRSS, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, exitCode: code, atPeak })}\n`);
  });
}
