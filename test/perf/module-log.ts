/**
 * `node --import <this file> …`: record every module the process loads, for the start-up tests.
 * ESM resolutions are logged by a resolve hook (module.register, Node ≥ 20.6); at exit the CommonJS
 * cache (modules loaded by require() inside CommonJS packages, which bypass the ESM hooks) is
 * appended too. One URL or path per line in the file named by FEDCHECK_MODULE_LOG.
 */
import { register, Module } from 'node:module';
import { appendFileSync } from 'node:fs';

const file = process.env.FEDCHECK_MODULE_LOG;
if (file) {
  register('./module-log-hooks.js', import.meta.url, { data: { file } });
  process.on('exit', () => {
    const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
    appendFileSync(file, Object.keys(cache).map((p) => `cjs:${p}\n`).join(''));
  });
}
