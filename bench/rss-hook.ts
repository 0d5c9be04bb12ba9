/**
 * `node --import <this file> bin/fedcheck.js …`: at exit, append this process's peak RSS and CPU
 * time as one JSON line to the file named by FEDCHECK_BENCH_USAGE. Loaded by the benchmark only.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.FEDCHECK_BENCH_USAGE;
if (file) {
  process.on('exit', (code) => {
    const u = process.resourceUsage();
    appendFileSync(file, `${JSON.stringify({ maxRssKb: u.maxRSS, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, exitCode: code })}\n`);
  });
}
