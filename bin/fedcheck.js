#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/. Once the command is done, a lingering socket
// (a silent server that never closed) must not keep the process alive past the report.
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv))
  .then(() => {
    setTimeout(() => process.exit(), 250).unref();
  })
  .catch((err) => {
    process.stderr.write(`fedcheck: internal error: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(70);
  });
