#!/usr/bin/env node
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`fedcheck: internal error: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 70;
});
