/**
 * InflightTable: the inflight window's packet id -> entry table behaves as a Map in
 * insertion order (checked against one through random operations, colliding ids, growth
 * and the return to its first size), including removal of the entry an iteration is at.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InflightTable } from '../../src/core/inflight-table.js';

interface Entry {
  packetId: number;
  n: number;
}

/** Asserts `table` holds what `model` holds, in the same order, and answers the same. */
function same(table: InflightTable<Entry>, model: Map<number, Entry>): void {
  assert.equal(table.size, model.size);
  assert.deepEqual([...table.keys()], [...model.keys()]);
  assert.deepEqual([...table], [...model]);
  for (const [id, e] of model) {
    assert.equal(table.get(id), e);
    assert.equal(table.has(id), true);
  }
}

/** A small deterministic generator (xorshift), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('InflightTable', () => {
  it('adds, finds and removes as a Map does, in insertion order, through growth and back', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = random(seed);
      const table = new InflightTable<Entry>();
      const model = new Map<number, Entry>();
      // Ids spread so that many share a lookup slot (multiples of 8 and 16 apart), as packet ids
      // do after a wrap or a restore.
      const pick = (): number => 1 + Math.floor(rnd() * 40) * (rnd() < 0.5 ? 8 : 1);
      for (let step = 0; step < 3000; step++) {
        const id = pick();
        const r = rnd();
        // Phases of growth (adding more often) and of draining, so the table empties at sizes
        // above and below the one it returns from.
        const adding = step % 600 < 300 ? r < 0.7 : r < 0.3;
        if (adding && !model.has(id)) {
          const e = { packetId: id, n: step };
          table.add(e);
          model.set(id, e);
        } else {
          assert.equal(table.delete(id), model.delete(id));
        }
        assert.equal(table.get(id), model.get(id));
        if (step % 50 === 0 || model.size === 0) same(table, model);
      }
      same(table, model);
    }
  });

  it('lets an iteration remove the entry it is at and goes on with the next ones', () => {
    const table = new InflightTable<Entry>();
    for (let id = 1; id <= 10; id++) table.add({ packetId: id, n: id });
    const seen: number[] = [];
    for (const e of table.values()) {
      seen.push(e.packetId);
      if (e.packetId % 2 === 0) table.delete(e.packetId);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual([...table.keys()], [1, 3, 5, 7, 9]);
    for (const e of table.values()) table.delete(e.packetId);
    assert.equal(table.size, 0);
    assert.deepEqual([...table.values()], []);
  });

  it('reads as a ReadonlyMap: entries, forEach', () => {
    const table = new InflightTable<Entry>();
    const a = { packetId: 65535, n: 1 };
    const b = { packetId: 1, n: 2 };
    table.add(a);
    table.add(b);
    const map: ReadonlyMap<number, Entry> = table;
    assert.deepEqual(
      [...map.entries()],
      [
        [65535, a],
        [1, b],
      ],
    );
    const visited: [number, Entry][] = [];
    map.forEach((v, k, m) => {
      assert.equal(m, table);
      visited.push([k, v]);
    });
    assert.deepEqual(visited, [
      [65535, a],
      [1, b],
    ]);
    assert.equal(map.get(2), undefined);
    assert.equal(table.delete(2), false);
  });
});
