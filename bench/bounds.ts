/**
 * The fewest sequential round trips spec §1's algorithm allows, per benchmarked scenario.
 *
 * A "round trip" is one exchange whose answer the next step needs: a DNS query, the TCP
 * handshake, the TLS 1.3 handshake (one RTT: the client's Finished travels with its first
 * request), one HTTP request/response (requests pipelined on one connection share one RTT).
 * Steps that the algorithm lets run concurrently (‖) count once. docs/performance.md explains
 * each line; keep the two in step.
 */

export interface BoundStep {
  /** what happens in this round trip */
  what: string;
  rtts: number;
}

export interface ScenarioBound {
  scenario: string;
  label: string;
  steps: BoundStep[];
  /** sum of `steps` */
  rtts: number;
}

function bound(scenario: string, label: string, steps: BoundStep[]): ScenarioBound {
  return { scenario, label, steps, rtts: steps.reduce((n, s) => n + s.rtts, 0) };
}

export const BOUNDS: ScenarioBound[] = [
  bound('healthy', 'well-known delegation (to matrix.example.org:443)', [
    { what: 'DNS: A/AAAA example.org ‖ SRV _matrix-fed/_matrix._tcp.example.org (speculative)', rtts: 1 },
    { what: 'TCP to example.org:443', rtts: 1 },
    { what: 'TLS 1.3 handshake', rtts: 1 },
    { what: 'GET /.well-known/matrix/server → m.server matrix.example.org:443', rtts: 1 },
    { what: 'DNS: A/AAAA matrix.example.org (spec §1 step 3.2: no SRV)', rtts: 1 },
    { what: 'TCP to each address (IPv4 ‖ IPv6)', rtts: 1 },
    { what: 'TLS 1.3 handshake', rtts: 1 },
    { what: 'version ‖ keys ‖ health, pipelined on that connection', rtts: 1 },
  ]),
  bound('srv', 'SRV (well-known 404, two _matrix-fed records)', [
    { what: 'DNS: A/AAAA example.org ‖ SRV _matrix-fed/_matrix._tcp.example.org', rtts: 1 },
    { what: 'TCP to example.org:443 ‖ A/AAAA of the SRV targets (speculative, started on the SRV answer)', rtts: 1 },
    { what: 'TLS 1.3 handshake', rtts: 1 },
    { what: 'GET /.well-known/matrix/server → 404: fall through to step 4 (targets already resolved)', rtts: 1 },
    { what: 'TCP to each target address (a ‖ b)', rtts: 1 },
    { what: 'TLS 1.3 handshake', rtts: 1 },
    { what: 'version ‖ keys ‖ health, pipelined', rtts: 1 },
  ]),
];
