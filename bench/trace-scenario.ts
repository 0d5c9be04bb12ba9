/**
 * `node dist/bench/trace-scenario.js <scenario> [rttMs] [reps] [--bare] [--staged]`: median time and the
 * timestamped step trace of one lab scenario (--bare: without the extra gatherers).
 */
import { measureScenario } from './scenarios.js';

process.env.FEDCHECK_LOOPBACK_ONLY = '1';
const bare = process.argv.includes('--bare');
const staged = process.argv.includes('--staged');
const [name = 'healthy', rtt = '50', reps = '5'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const r = await measureScenario(name, Number(rtt), Number(reps), { withoutExtraGatherers: bare, ...(staged ? { speculative: false } : {}) });
console.log(`${r.scenario} @ ${r.rttMs} ms RTT${bare ? ' (no extra gatherers)' : ''}${staged ? ' (staged)' : ''}: median ${r.medianMs.toFixed(0)} ms = ${(r.medianMs / r.rttMs).toFixed(2)} RTT; samples ${r.samplesMs.map((x) => x.toFixed(0)).join(' ')}; CPU ${r.cpuMs.toFixed(0)} ms (lab ${r.labCpuMs?.toFixed(0) ?? '?'} ms); ok=${r.ok} method=${r.method}`);
for (const e of r.trace) console.log(`${e.at.toFixed(0).padStart(6)} ms ${(e.at / r.rttMs).toFixed(2).padStart(5)} RTT  ${e.kind.padEnd(8)} ${e.message}`);
