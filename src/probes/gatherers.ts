/**
 * Extra gatherers beyond discovery and the per-address probes (proxy behaviour, client
 * discovery, …). Each stores its evidence under `ServerEvidence.extra[name]`. `start` gatherers
 * run concurrently with discovery (they need only the server name); `resolved` ones run once the
 * resolution is known, concurrently with the per-address probes.
 */
import type { ParsedServerName } from '../core/server-name.js';
import type { NetContext } from '../net/http.js';
import type { DiscoveryEvidence } from './resolve.js';
import type { RunOptions } from '../run/options.js';
import { clientGatherer, clientCopiesGatherer, compatibilityGatherer } from './client.js';
import { proxyGatherer } from './proxy.js';

export interface GatherContext {
  net: NetContext;
  parsed: ParsedServerName;
  options: RunOptions;
  /** set for `resolved` gatherers */
  discovery?: DiscoveryEvidence;
}

export interface Gatherer {
  name: string;
  when: 'start' | 'resolved';
  run(g: GatherContext): Promise<unknown>;
}

/** The registry: one line per gatherer. */
export const gatherers: Gatherer[] = [
  clientGatherer,
  clientCopiesGatherer,
  compatibilityGatherer,
  proxyGatherer,
];
