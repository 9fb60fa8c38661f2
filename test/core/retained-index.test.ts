/**
 * The retained messages' in-memory index (retained-index.ts) against a plain Map and
 * topicMatchesFilter: set, replace, delete, get and match, through every shape a level's
 * children take (one, a list, a Map and back) and every split and merge of levels.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RetainedIndex } from '../../src/core/retained-index.js';
import { topicMatchesFilter } from '../../src/topic/index.js';

interface Entry {
  readonly topic: string;
  readonly n: number;
}

/** Few level names, so that topics share levels and part at every depth. */
const SMALL = ['', '$sys', 'a', 'b'];
/** Enough names at one level to go past the list of children into a Map. */
const WIDE = Array.from({ length: 40 }, (_, i) => `w${i}`);

const topicOf = (names: string[]) =>
  fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
const filterOf = (names: string[]) =>
  fc
    .tuple(fc.array(fc.constantFrom(...names, '+'), { minLength: 0, maxLength: 4 }), fc.boolean())
    .filter(([levels, hash]) => levels.length > 0 || hash)
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));

/** Applies `ops` to an index and a Map, checking each answer, then compares lookups and matches. */
function checkAgainstModel(ops: [boolean, string][], filters: string[]): void {
  const index = new RetainedIndex<Entry>();
  const model = new Map<string, Entry>();
  ops.forEach(([set, topic], n) => {
    if (set) {
      const entry = { topic, n };
      assert.equal(index.set(entry), model.get(topic), `set ${topic}`);
      model.set(topic, entry);
    } else {
      assert.equal(index.delete(topic), model.get(topic), `delete ${topic}`);
      model.delete(topic);
    }
  });
  assert.equal(index.size, model.size);
  assert.deepEqual(
    index.values().sort((x, y) => x.n - y.n),
    [...model.values()].sort((x, y) => x.n - y.n),
  );
  for (const [topic, entry] of model) assert.equal(index.get(topic), entry, `get ${topic}`);
  for (const filter of filters) {
    const found: Entry[] = [];
    index.match(filter, found);
    const expected = [...model.values()].filter((e) => topicMatchesFilter(e.topic, filter));
    assert.deepEqual(
      found.map((e) => e.topic).sort(),
      expected.map((e) => e.topic).sort(),
      `filter '${filter}'`,
    );
  }
}

describe('RetainedIndex', () => {
  test('property: equals a Map with topicMatchesFilter (levels shared at every depth)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), topicOf(SMALL)), { maxLength: 60 }),
        fc.array(filterOf(SMALL), { minLength: 1, maxLength: 6 }),
        checkAgainstModel,
      ),
      { numRuns: 1000 },
    );
  });

  test('property: equals a Map with topicMatchesFilter (wide levels: lists become Maps and back)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), topicOf([...WIDE.slice(0, 30), 'a', ''])), {
          maxLength: 200,
        }),
        fc.array(filterOf(['w1', 'w29', 'a', '']), { minLength: 1, maxLength: 6 }),
        checkAgainstModel,
      ),
      { numRuns: 300 },
    );
  });

  test('a level splits when a second topic passes through it, and merges back when it leaves', () => {
    const index = new RetainedIndex<Entry>();
    const status = { topic: 'devices/17/status', n: 1 };
    const battery = { topic: 'devices/17/battery', n: 2 };
    const parent = { topic: 'devices/17', n: 3 };
    index.set(status);
    index.set(battery);
    index.set(parent);
    const matched = (filter: string): string[] => {
      const out: Entry[] = [];
      index.match(filter, out);
      return out.map((e) => e.topic).sort();
    };
    assert.deepEqual(matched('devices/17/#'), [
      'devices/17',
      'devices/17/battery',
      'devices/17/status',
    ]);
    assert.deepEqual(matched('devices/+/status'), ['devices/17/status']);
    assert.deepEqual(matched('devices/+'), ['devices/17']);
    assert.equal(index.delete('devices/17'), parent);
    assert.equal(index.delete('devices/17/battery'), battery);
    assert.equal(index.delete('devices/17/battery'), undefined, 'deleted once');
    assert.deepEqual(matched('devices/17/#'), ['devices/17/status']);
    assert.equal(index.get('devices/17'), undefined);
    assert.equal(index.get('devices'), undefined);
    assert.equal(index.get('devices/17/status'), status);
    assert.equal(index.delete('devices/17/status'), status);
    assert.equal(index.size, 0);
    assert.deepEqual(index.values(), []);
  });

  test('[MQTT-4.7.2-1] a leading wildcard matches no topic starting with $, at any depth of the index', () => {
    const index = new RetainedIndex<Entry>();
    for (const [n, topic] of ['$SYS/a', '$SYS/b/c', '$x', 'a/$SYS', 'b'].entries()) {
      index.set({ topic, n });
    }
    const matched = (filter: string): string[] => {
      const out: Entry[] = [];
      index.match(filter, out);
      return out.map((e) => e.topic).sort();
    };
    assert.deepEqual(matched('#'), ['a/$SYS', 'b']);
    assert.deepEqual(matched('+'), ['b']);
    assert.deepEqual(matched('+/+'), ['a/$SYS']);
    assert.deepEqual(matched('$SYS/#'), ['$SYS/a', '$SYS/b/c']);
  });

  test('a filter of more than 32,767 levels is matched too (value by value)', () => {
    const index = new RetainedIndex<Entry>();
    const deep = '/'.repeat(40_000); // 40,001 empty levels
    index.set({ topic: deep, n: 1 });
    index.set({ topic: 'a', n: 2 });
    index.set({ topic: `${'/'.repeat(39_999)}x`, n: 3 });
    const matched = (filter: string): number[] => {
      const out: Entry[] = [];
      index.match(filter, out);
      return out.map((e) => e.n).sort();
    };
    assert.deepEqual(matched(`${'/'.repeat(32_767)}#`), [1, 3]);
    assert.deepEqual(matched(`${'+/'.repeat(40_000)}+`), [1]);
    assert.deepEqual(matched(deep), [1]);
    assert.deepEqual(matched(`${'/'.repeat(39_999)}+`), [3]);
  });
});
