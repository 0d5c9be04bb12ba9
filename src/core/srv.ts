/**
 * SRV record ordering as homeservers apply it (RFC 2782; Synapse's `_sort_server_list`, spec §4.3).
 * Pure; deterministic for a given `rng`.
 */
import type { SrvRecord } from './types.js';

/**
 * Fenwick (binary indexed) tree over the weights of one priority group, so that each weighted
 * pick ("first remaining record whose running weight sum reaches a random target", exactly the
 * linear scan Synapse does) costs O(log n) instead of O(n).
 */
class WeightTree {
  private readonly tree: number[];
  private readonly size: number;
  private readonly topBit: number;

  constructor(weights: number[]) {
    this.size = weights.length;
    this.tree = new Array<number>(this.size + 1).fill(0);
    for (let i = 0; i < this.size; i++) {
      const j = i + 1;
      this.tree[j] = (this.tree[j] as number) + (weights[i] as number);
      const parent = j + (j & -j);
      if (parent <= this.size) this.tree[parent] = (this.tree[parent] as number) + (this.tree[j] as number);
    }
    let top = 1;
    while (top * 2 <= this.size) top *= 2;
    this.topBit = this.size === 0 ? 0 : top;
  }

  add(index: number, delta: number): void {
    for (let j = index + 1; j <= this.size; j += j & -j) this.tree[j] = (this.tree[j] as number) + delta;
  }

  /** smallest index whose prefix sum (inclusive) is >= target (1 <= target <= total) */
  findPrefix(target: number): number {
    let pos = 0;
    let remaining = target;
    for (let step = this.topBit; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.size && (this.tree[next] as number) < remaining) {
        pos = next;
        remaining -= this.tree[next] as number;
      }
    }
    return pos; // 0-based index of the element at 1-based position pos + 1
  }
}

/** An integer weight as RFC 2782 allows (0-65535); anything else counts as 0. */
function weightOf(r: SrvRecord): number {
  const w = r?.weight;
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? Math.floor(w) : 0;
}

function priorityOf(r: SrvRecord): number {
  const p = r?.priority;
  return typeof p === 'number' && !Number.isNaN(p) ? p : Number.POSITIVE_INFINITY;
}

/** uniform integer in [0, n) from rng(); tolerant of rng values outside [0, 1) */
function randomIndex(rng: () => number, n: number): number {
  let x = Number(rng());
  if (!Number.isFinite(x) || x < 0) x = 0;
  const i = Math.floor(x * n);
  return i >= n ? n - 1 : i;
}

/**
 * Order SRV records the way a homeserver tries them: priority ascending; within one priority,
 * RFC 2782 weighted random selection without replacement, with zero-weight records placed after
 * all weighted ones in random order (Synapse: "weights can be zero, which means that they should
 * be picked rarely" — it shuffles them once only zero weights remain).
 *
 * `rng` returns numbers in [0, 1) (Math.random by default); pass a seeded one for reproducible
 * output. Returns a new array of the same record objects; the input is not modified.
 * O(n log n): 10,000 records in one priority take a few milliseconds.
 */
export function orderSrv(records: SrvRecord[], rng: () => number = Math.random): SrvRecord[] {
  if (!Array.isArray(records) || records.length === 0) return [];
  const groups = new Map<number, SrvRecord[]>();
  for (const r of records) {
    const p = priorityOf(r);
    let g = groups.get(p);
    if (!g) groups.set(p, (g = []));
    g.push(r);
  }
  const priorities = [...groups.keys()].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const p of priorities) {
    const group = groups.get(p) as SrvRecord[];
    const weights = group.map(weightOf);
    let total = weights.reduce((a, b) => a + b, 0);
    const tree = new WeightTree(weights);
    const picked = new Array<boolean>(group.length).fill(false);
    let remainingWeighted = weights.filter((w) => w > 0).length;
    while (remainingWeighted > 0 && total > 0) {
      // target in [1, total], as Python's random.randint(1, total_weight)
      const target = 1 + randomIndex(rng, total);
      const idx = tree.findPrefix(target);
      const w = weights[idx] as number;
      picked[idx] = true;
      out.push(group[idx] as SrvRecord);
      tree.add(idx, -w);
      total -= w;
      remainingWeighted--;
    }
    // zero-weight records (and anything left): Fisher-Yates shuffle
    const rest: SrvRecord[] = [];
    for (let i = 0; i < group.length; i++) if (!picked[i]) rest.push(group[i] as SrvRecord);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = randomIndex(rng, i + 1);
      const t = rest[i] as SrvRecord;
      rest[i] = rest[j] as SrvRecord;
      rest[j] = t;
    }
    out.push(...rest);
  }
  return out;
}

/**
 * RFC 2782: a single SRV record whose target is "." means the service is decidedly not available
 * at this domain (Synapse raises "service unavailable", spec §4.3). Resolvers report the root
 * target as "." or as an empty name; both count.
 */
export function isServiceUnavailable(records: SrvRecord[]): boolean {
  if (!Array.isArray(records) || records.length !== 1) return false;
  const name = records[0]?.name;
  return name === '.' || name === '';
}

/**
 * Probability that each record (by index into `records`) is tried FIRST, under the ordering above.
 * Useful to explain to an admin that a weight-0 record only gets traffic after all others fail.
 */
export function firstPickProbabilities(records: SrvRecord[]): number[] {
  if (!Array.isArray(records) || records.length === 0) return [];
  let best = Number.POSITIVE_INFINITY;
  for (const r of records) best = Math.min(best, priorityOf(r));
  const inTop = records.map((r) => priorityOf(r) === best);
  const total = records.reduce((a, r, i) => a + (inTop[i] ? weightOf(r) : 0), 0);
  const topCount = inTop.filter(Boolean).length;
  return records.map((r, i) => {
    if (!inTop[i]) return 0;
    if (total === 0) return 1 / topCount;
    return weightOf(r) / total;
  });
}
