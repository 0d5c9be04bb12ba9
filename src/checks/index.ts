/** The check registry, in report order. Adding a check: its file, and one line here. */
import type { Check } from './types.js';
import serverName from './server-name.js';
import wellKnown from './well-known.js';
import srv from './srv.js';
import dns from './dns.js';

export const checks: Check[] = [
  serverName,
  wellKnown,
  srv,
  dns,
];
