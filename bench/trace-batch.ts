/** `node dist/bench/trace-batch.js [names] [concurrency] [rttMs] [timeoutS]`: the batch figure alone. */
import { runBatch } from './batch.js';

const [n = '1000', c = '200', rtt = '50', t = '5'] = process.argv.slice(2);
const r = await runBatch(Number(n), 0.1, Number(rtt), Number(c), Number(t));
console.log(JSON.stringify({ ...r, misjudged: r.misjudged.slice(0, 10), misjudgedCount: r.misjudged.length }, null, 2));
