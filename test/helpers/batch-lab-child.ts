/**
 * The batch lab (test/helpers/batch.ts) in a process of its own, so that its servers' CPU (TLS
 * handshakes, signing) does not share one event loop with the checks being run — as on a real
 * network, where the servers are other machines.
 *
 * `node dist/test/helpers/batch-lab-child.js '{"count":50,"faults":{"7":"no-dns"},"timeoutMs":10000}'`
 * prints one JSON line `{runOptions, servers, cliArgs}` when the lab is up, and stops the lab when
 * its stdin closes. Started by startBatchLab() in batch.ts.
 */
import { startLab } from '../../src/lab/deployment.js';
import { batchScenario, type BatchFault } from './batch.js';

// `node --test dist/test/` runs every file under test/ — this one too, without arguments: then
// there is nothing to do.
if (process.argv[2] !== undefined) {
  const spec = JSON.parse(process.argv[2]) as { count: number; faults: Record<number, BatchFault>; timeoutMs: number };
  const { scenario, servers } = batchScenario(spec.count, spec.faults);
  const lab = await startLab(scenario, { timeoutMs: spec.timeoutMs });
  process.stdout.write(`${JSON.stringify({ runOptions: lab.runOptions, servers, cliArgs: lab.cliArgs })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void lab.stop().then(() => process.exit(0));
  });
}
