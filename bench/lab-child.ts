/**
 * A lab scenario in a process of its own, so that the servers' CPU (TLS handshakes, signing keys)
 * is not charged to the check being timed — on a real network it is someone else's machine.
 *
 * `node dist/bench/lab-child.js <scenario> <rttMs>` prints one JSON line `{serverName, runOptions}`
 * when the lab is up, and stops the lab when its stdin closes.
 */
import { startLab } from '../src/lab/deployment.js';
import { findScenario } from '../src/lab/scenarios/index.js';

const [name = 'healthy', rtt = '50'] = process.argv.slice(2);
const scenario = findScenario(name);
if (!scenario) {
  process.stderr.write(`lab-child: no scenario ${name}\n`);
  process.exit(2);
}
const lab = await startLab(scenario, { rttMs: Number(rtt), timeoutMs: 20_000 });
process.stdout.write(`${JSON.stringify({ serverName: lab.serverName, runOptions: lab.runOptions, cliArgs: lab.cliArgs })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void lab.stop().then(() => process.exit(0));
});
