/** Options of one `check` run, after CLI parsing (see cli/main.ts). */
import type { TraceEvent } from '../net/http.js';

export interface RunOptions {
  /** --resolver, `addr[:port]` */
  resolvers: string[];
  /** --resolve host:port:addr */
  resolve: string[];
  /** --connect-to host:port:chost:cport */
  connectTo: string[];
  /** --cacert files */
  cacert: string[];
  /** extra trusted CA PEMs given in-process (the lab) */
  extraCaPems?: string[];
  family: 0 | 4 | 6;
  /** deadline for each server name, ms */
  timeoutMs: number;
  /** --backend url */
  backend: string | null;
  trace?: (serverName: string, e: TraceEvent) => void;
  /**
   * Send requests whose need is not known yet, to save round trips (default true). A batch turns
   * it off: there CPU, not round trips, is the limit (docs/performance.md).
   */
  speculative?: boolean;
}

export const DEFAULT_TIMEOUT_S = 20;
/** Cap per network step (connect, TLS, headers, body): Synapse's key-fetch timeout. */
export const STEP_TIMEOUT_MS = 10_000;
