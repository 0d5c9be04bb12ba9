import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { orderSrv, isServiceUnavailable, firstPickProbabilities } from '../../src/core/srv.js';
import type { SrvRecord } from '../../src/core/types.js';

function rec(name: string, priority: number, weight: number, port = 8448): SrvRecord {
  return { name, priority, weight, port };
}

/** small deterministic PRNG (mulberry32) */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** rng that replays fixed values */
function fixed(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

/** Synapse's _sort_server_list, transcribed literally (O(n^2)), driven by the same rng */
function synapseReference(records: SrvRecord[], rng: () => number): SrvRecord[] {
  const byPrio = new Map<number, SrvRecord[]>();
  for (const r of records) {
    if (!byPrio.has(r.priority)) byPrio.set(r.priority, []);
    byPrio.get(r.priority)!.push(r);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPrio.keys()].sort((a, b) => a - b)) {
    const servers = [...byPrio.get(p)!];
    let total = servers.reduce((a, s) => a + s.weight, 0);
    while (servers.length && total) {
      let target = 1 + Math.min(total - 1, Math.floor(rng() * total));
      let chosen = servers[servers.length - 1]!;
      for (const s of servers) {
        target -= s.weight;
        if (target <= 0) {
          chosen = s;
          break;
        }
      }
      out.push(chosen);
      servers.splice(servers.indexOf(chosen), 1);
      total -= chosen.weight;
    }
    for (let i = servers.length - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(rng() * (i + 1)));
      [servers[i], servers[j]] = [servers[j]!, servers[i]!];
    }
    out.push(...servers);
  }
  return out;
}

describe('orderSrv', () => {
  test('empty and single', () => {
    assert.deepEqual(orderSrv([]), []);
    const one = rec('a', 10, 0);
    assert.deepEqual(orderSrv([one]), [one]);
  });
  test('priority ascending regardless of weight', () => {
    const recs = [rec('c', 30, 100), rec('a', 10, 0), rec('b', 20, 65535), rec('a2', 10, 0)];
    for (let seed = 0; seed < 50; seed++) {
      const out = orderSrv(recs, seeded(seed));
      assert.deepEqual(out.map((r) => r.priority), [10, 10, 20, 30]);
    }
  });
  test('same objects, input not modified', () => {
    const recs = [rec('a', 1, 1), rec('b', 0, 1)];
    const copy = JSON.parse(JSON.stringify(recs));
    const out = orderSrv(recs, seeded(1));
    assert.deepEqual(recs, copy);
    assert.equal(out[0], recs[1]);
    assert.equal(out[1], recs[0]);
  });
  test('deterministic for a given rng; a permutation of the input', () => {
    const recs = Array.from({ length: 50 }, (_, i) => rec(`t${i}`, i % 3, i % 4 === 0 ? 0 : i));
    const a = orderSrv(recs, seeded(42));
    const b = orderSrv(recs, seeded(42));
    assert.deepEqual(a, b);
    assert.equal(a.length, recs.length);
    assert.deepEqual(new Set(a), new Set(recs));
  });
  test('weighted pick follows the RFC 2782 running sum (rng fixed)', () => {
    const recs = [rec('a', 0, 10), rec('b', 0, 30), rec('c', 0, 60)];
    // total 100: target = 1 + floor(r * 100)
    assert.equal(orderSrv(recs, fixed([0]))[0]!.name, 'a'); // target 1
    assert.equal(orderSrv(recs, fixed([0.095]))[0]!.name, 'a'); // target 10
    assert.equal(orderSrv(recs, fixed([0.1]))[0]!.name, 'b'); // target 11
    assert.equal(orderSrv(recs, fixed([0.395]))[0]!.name, 'b'); // target 40
    assert.equal(orderSrv(recs, fixed([0.4]))[0]!.name, 'c'); // target 41
    assert.equal(orderSrv(recs, fixed([0.999999]))[0]!.name, 'c'); // target 100
    // after picking c (total now 40): 0.5 -> target 21 -> b
    assert.deepEqual(orderSrv(recs, fixed([0.999, 0.5, 0])).map((r) => r.name), ['c', 'b', 'a']);
  });
  test('zero-weight records come after every weighted one in their priority', () => {
    const recs = [rec('z1', 5, 0), rec('w1', 5, 1), rec('z2', 5, 0), rec('w2', 5, 1), rec('hi', 1, 0)];
    for (let seed = 0; seed < 200; seed++) {
      const names = orderSrv(recs, seeded(seed)).map((r) => r.name);
      assert.equal(names[0], 'hi');
      assert.deepEqual(new Set(names.slice(1, 3)), new Set(['w1', 'w2']));
      assert.deepEqual(new Set(names.slice(3)), new Set(['z1', 'z2']));
    }
  });
  test('all-zero weights: a uniform shuffle', () => {
    const recs = [rec('a', 0, 0), rec('b', 0, 0), rec('c', 0, 0)];
    const firsts = new Map<string, number>();
    const rng = seeded(7);
    for (let i = 0; i < 3000; i++) {
      const f = orderSrv(recs, rng)[0]!.name;
      firsts.set(f, (firsts.get(f) ?? 0) + 1);
    }
    for (const n of ['a', 'b', 'c']) assert.ok(Math.abs((firsts.get(n) ?? 0) - 1000) < 150, `${n}: ${firsts.get(n)}`);
  });
  test('first-pick frequencies match the weights', () => {
    const recs = [rec('a', 0, 1), rec('b', 0, 3), rec('c', 0, 6)];
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    const rng = seeded(123);
    const N = 20000;
    for (let i = 0; i < N; i++) counts[orderSrv(recs, rng)[0]!.name]!++;
    assert.ok(Math.abs(counts.a! / N - 0.1) < 0.015, JSON.stringify(counts));
    assert.ok(Math.abs(counts.b! / N - 0.3) < 0.02, JSON.stringify(counts));
    assert.ok(Math.abs(counts.c! / N - 0.6) < 0.02, JSON.stringify(counts));
  });
  test('identical to a literal transcription of Synapse given the same rng', () => {
    const gen = seeded(99);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(gen() * 12);
      const recs = Array.from({ length: n }, (_, i) =>
        rec(`t${i}`, Math.floor(gen() * 3), gen() < 0.3 ? 0 : Math.floor(gen() * 100), 8000 + i),
      );
      assert.deepEqual(orderSrv(recs, seeded(trial)), synapseReference(recs, seeded(trial)), `trial ${trial}`);
    }
  });
  test('tolerates odd rng output and bad weights', () => {
    const recs = [rec('a', 0, 5), rec('b', 0, -3), rec('c', 0, NaN), rec('d', NaN, 1), rec('e', 0, 2.7)];
    for (const r of [() => 1, () => -1, () => NaN, () => 0.9999999999999999, () => Infinity]) {
      const out = orderSrv(recs, r);
      assert.equal(out.length, 5);
      assert.equal(out[out.length - 1]!.name, 'd', 'NaN priority sorts last');
    }
    assert.deepEqual(orderSrv(null as unknown as SrvRecord[]), []);
  });
  test('10,000 records in one priority: fast (< 200 ms)', () => {
    const recs = Array.from({ length: 10_000 }, (_, i) => rec(`t${i}.example`, 10, i % 10 === 0 ? 0 : (i * 7919) % 65536, 8448));
    const t0 = performance.now();
    const out = orderSrv(recs, seeded(5));
    const ms = performance.now() - t0;
    assert.ok(ms < 200, `took ${ms.toFixed(1)} ms`);
    assert.equal(out.length, 10_000);
    assert.equal(new Set(out).size, 10_000);
    // zero weights last
    const firstZero = out.findIndex((r) => r.weight === 0);
    assert.ok(out.slice(firstZero).every((r) => r.weight === 0));
  });
  test('10,000 records over many priorities: fast', () => {
    const recs = Array.from({ length: 10_000 }, (_, i) => rec(`t${i}`, i % 100, i % 7, 1));
    const t0 = performance.now();
    const out = orderSrv(recs, seeded(6));
    assert.ok(performance.now() - t0 < 200);
    for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]!.priority <= out[i]!.priority);
  });
});

describe('isServiceUnavailable', () => {
  test('exactly one record with target "." (or empty)', () => {
    assert.equal(isServiceUnavailable([rec('.', 0, 0, 0)]), true);
    assert.equal(isServiceUnavailable([rec('', 0, 0, 0)]), true);
  });
  test('otherwise false', () => {
    assert.equal(isServiceUnavailable([]), false);
    assert.equal(isServiceUnavailable([rec('a.example', 0, 0)]), false);
    assert.equal(isServiceUnavailable([rec('.', 0, 0), rec('a.example', 0, 0)]), false);
    assert.equal(isServiceUnavailable([rec('.', 0, 0), rec('.', 1, 0)]), false);
    assert.equal(isServiceUnavailable(null as unknown as SrvRecord[]), false);
  });
});

describe('firstPickProbabilities', () => {
  test('by weight within the best priority', () => {
    assert.deepEqual(firstPickProbabilities([rec('a', 0, 1), rec('b', 0, 3), rec('c', 1, 100)]), [0.25, 0.75, 0]);
    assert.deepEqual(firstPickProbabilities([rec('a', 0, 0), rec('b', 0, 5)]), [0, 1]);
    assert.deepEqual(firstPickProbabilities([rec('a', 0, 0), rec('b', 0, 0)]), [0.5, 0.5]);
    assert.deepEqual(firstPickProbabilities([]), []);
  });
});
