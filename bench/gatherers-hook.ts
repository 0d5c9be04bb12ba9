/**
 * `node --import <this file> bin/fedcheck.js …` with FEDCHECK_BENCH_BARE=1: the CLI runs with the
 * extra gatherers of src/probes/gatherers.ts (client discovery, compatibility, proxy…) removed,
 * so the benchmark can tell the cost of discovery + per-address probes from theirs. ESM modules
 * are singletons per URL: the CLI imports this same registry later. Benchmark only.
 */
import { gatherers } from '../src/probes/gatherers.js';

if (process.env.FEDCHECK_BENCH_BARE === '1') gatherers.length = 0;
