/**
 * Grouping of findings into the stages of a federation request, for the human-facing renderers
 * (text, Markdown, JUnit class names). Pure data; no I/O.
 */
import type { Finding } from '../core/types.js';

export type Stage = 'discovery' | 'per-address' | 'proxy' | 'client' | 'summary' | 'other';

/** Stages in the order they are printed. */
export const STAGE_ORDER: readonly Stage[] = ['discovery', 'per-address', 'proxy', 'client', 'summary', 'other'];

/** Human titles of the stages. */
export const STAGE_TITLES: Readonly<Record<Stage, string>> = {
  discovery: 'Discovery',
  'per-address': 'Per address',
  proxy: 'Reverse proxy',
  client: 'Clients',
  summary: 'Summary',
  other: 'Other checks',
};

const STAGE_OF_ID: ReadonlyMap<string, Stage> = new Map<string, Stage>([
  ['server-name', 'discovery'],
  ['well-known', 'discovery'],
  ['srv', 'discovery'],
  ['dns', 'discovery'],
  ['tls', 'per-address'],
  ['federation-version', 'per-address'],
  ['server-keys', 'per-address'],
  ['health', 'per-address'],
  ['uri-canonicalization', 'proxy'],
  ['forwarded-headers', 'proxy'],
  ['upload-limit', 'proxy'],
  ['admin-exposure', 'proxy'],
  ['client-well-known', 'client'],
  ['client-versions', 'client'],
  ['cors', 'client'],
  ['support-well-known', 'client'],
  ['compatibility', 'summary'],
  ['federation', 'summary'],
]);

/** The stage a check id belongs to; ids this version does not know map to 'other'. */
export function stageOf(id: string): Stage {
  return STAGE_OF_ID.get(id) ?? 'other';
}

export interface StageGroup {
  stage: Stage;
  /** set on 'per-address' groups: the address:port all findings of the group ran against */
  target?: string;
  findings: Finding[];
}

/**
 * Split findings into groups in STAGE_ORDER. Within a stage the findings keep their order.
 * The 'per-address' stage gets one group per target (in order of first appearance); its findings
 * without a target form a group of their own (no `target`), placed first.
 * Stages without findings produce no group.
 */
export function groupByStage(findings: readonly Finding[]): StageGroup[] {
  const byStage = new Map<Stage, Finding[]>();
  for (const f of findings) {
    const stage = stageOf(f.id);
    let list = byStage.get(stage);
    if (!list) byStage.set(stage, (list = []));
    list.push(f);
  }
  const groups: StageGroup[] = [];
  for (const stage of STAGE_ORDER) {
    const list = byStage.get(stage);
    if (!list) continue;
    if (stage !== 'per-address') {
      groups.push({ stage, findings: list });
      continue;
    }
    const untargeted = list.filter((f) => typeof f.target !== 'string');
    if (untargeted.length > 0) groups.push({ stage, findings: untargeted });
    const byTarget = new Map<string, Finding[]>();
    for (const f of list) {
      if (typeof f.target !== 'string') continue;
      let l = byTarget.get(f.target);
      if (!l) byTarget.set(f.target, (l = []));
      l.push(f);
    }
    for (const [target, l] of byTarget) groups.push({ stage, target, findings: l });
  }
  return groups;
}
