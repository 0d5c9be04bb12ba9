/**
 * A check is a pure function from a server's evidence to findings. One file per check id;
 * the registry (checks/index.ts) lists them in report order.
 */
import type { CheckId, Finding } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';

export interface Check {
  id: CheckId;
  /** one line for `--list-checks` and the docs */
  title: string;
  run(ev: ServerEvidence): Finding[];
}

/** Convenience: a `skip` finding that names the cause. */
export function skip(id: CheckId, cause: string, target?: string): Finding {
  const f: Finding = { id, status: 'skip', summary: `not run: ${cause}` };
  if (target) f.target = target;
  return f;
}
