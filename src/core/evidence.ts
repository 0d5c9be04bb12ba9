/**
 * The evidence bundle for one server name: everything the probes gathered, as plain JSON.
 * Checks read only this (plus `collectedAt` as "now"), so a saved bundle can be judged offline.
 */
import type { ParsedServerName, ServerNameError } from './server-name.js';
import type { DiscoveryEvidence } from '../probes/resolve.js';
import type { AddressEvidence } from '../probes/address.js';
import type { HttpExchange } from './types.js';

export interface RunOptionsEvidence {
  resolvers: string[];
  resolve: string[];
  connectTo: string[];
  cacert: string[];
  family: 0 | 4 | 6;
  timeoutMs: number;
  backend: string | null;
}

export interface ServerEvidence {
  evidenceVersion: 1;
  input: string;
  /** epoch ms when gathering started; checks use it as "now" */
  collectedAt: number;
  durationMs: number;
  options: RunOptionsEvidence;
  parsed: ParsedServerName | ServerNameError;
  discovery: DiscoveryEvidence | null;
  addresses: AddressEvidence[];
  /** --backend: /health fetched directly from the homeserver's own listener */
  backendHealth: HttpExchange | null;
  /** the run's deadline was reached before everything was gathered */
  deadlineHit: boolean;
  /** further evidence from other probes (proxy, client discovery…), keyed by probe name */
  extra: Record<string, unknown>;
}
