/**
 * `node dist/bench/trace-batch.js [names] [concurrency] [rttMs] [timeoutS] [--node-flag…]`: the batch
 * figure alone; --bare: without the extra gatherers; other arguments starting with -- go to the
 * child node (e.g. --cpu-prof).
 */
import { runBatch } from './batch.js';

const [n = '1000', c = '200', rtt = '50', t = '5'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const bare = process.argv.includes('--bare');
const nodeArgs = process.argv.slice(2).filter((a) => a.startsWith('--') && a !== '--bare');
const r = await runBatch(Number(n), 0.1, Number(rtt), Number(c), Number(t), { nodeArgs, bare });
console.log(JSON.stringify({ ...r, misjudged: r.misjudged.slice(0, 3), misjudgedCount: r.misjudged.length }));
