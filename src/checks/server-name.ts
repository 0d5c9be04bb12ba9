/** `server-name`: the input's grammar (spec §3). A malformed name never reaches here (exit 2). */
import type { Finding } from '../core/types.js';
import type { Check } from './types.js';
import { isServerNameError } from '../core/server-name.js';

const check: Check = {
  id: 'server-name',
  title: 'The server name follows the Matrix grammar (spec appendix "Server Name")',
  run(ev) {
    const p = ev.parsed;
    if (isServerNameError(p)) {
      return [{ id: 'server-name', status: 'fail', summary: p.error, hint: 'A server name is a hostname, IPv4 address or [IPv6] address, optionally followed by :port.' }];
    }
    const out: Finding[] = [];
    const kind = p.hostKind === 'dns' ? 'hostname' : p.hostKind === 'ipv4' ? 'IPv4 literal' : 'IPv6 literal';
    const summary = `${p.serverName} is a valid server name (${kind}${p.port !== null ? `, port ${p.port}` : ''})` +
      (p.converted ? `; Unicode name converted to ${p.converted.to}` : '');
    out.push({
      id: 'server-name',
      status: p.warnings.length ? 'warn' : 'pass',
      summary: p.warnings.length ? `${summary}; ${p.warnings.join('; ')}` : summary,
      ...(p.warnings.length ? { hint: 'Server names are compared case-sensitively and are part of every user ID: use a lower-case name of at most 230 characters.' } : {}),
      details: { serverName: p.serverName, host: p.host, hostKind: p.hostKind, port: p.port, ...(p.converted ? { converted: p.converted } : {}) },
    });
    return out;
  },
};
export default check;
