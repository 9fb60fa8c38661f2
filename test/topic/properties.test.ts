import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  parseSharedFilter,
  SubscriptionTrie,
  TopicTree,
  topicMatchesFilter,
} from '../../src/topic/index.js';

// A small alphabet so that random topics and filters collide often.
const NAME_LEVELS = ['', '$sys', 'a', 'b'];
const nameLevel = fc.constantFrom(...NAME_LEVELS);
const filterLevel = fc.constantFrom(...NAME_LEVELS, '+');

const topicArb = fc.array(nameLevel, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));

/** A valid filter: '#' only as the whole last level, optionally shared. */
const plainFilterArb = fc
  .tuple(fc.array(filterLevel, { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([levels, hash]) => levels.length > 0 || hash)
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
const filterArb = fc
  .tuple(fc.constantFrom(undefined, 'g1', 'g2'), plainFilterArb)
  .map(([group, filter]) => (group === undefined ? filter : `$share/${group}/${filter}`));

const keyArb = fc.constantFrom('c1', 'c2', 'c3');

type Op = { add: boolean; filter: string; key: string; value: number };
const opArb = fc.record({ add: fc.boolean(), filter: filterArb, key: keyArb, value: fc.nat(99) });

function innerOf(filter: string): string {
  return parseSharedFilter(filter)?.filter ?? filter;
}

test('property: SubscriptionTrie.match equals brute force over topicMatchesFilter', () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 40 }),
      fc.array(topicArb, { minLength: 1, maxLength: 5 }),
      (ops: Op[], topics: string[]) => {
        const trie = new SubscriptionTrie<number>();
        const model = new Map<string, Map<string, number>>(); // filter -> key -> value
        for (const op of ops) {
          const members = model.get(op.filter) ?? new Map<string, number>();
          if (op.add) {
            assert.equal(trie.add(op.filter, op.key, op.value), !members.has(op.key));
            members.set(op.key, op.value);
            model.set(op.filter, members);
          } else {
            assert.equal(trie.remove(op.filter, op.key), members.delete(op.key));
            if (members.size === 0) model.delete(op.filter);
          }
        }
        let size = 0;
        for (const members of model.values()) size += members.size;
        assert.equal(trie.size, size);

        for (const topic of topics) {
          const seen: string[] = [];
          const groups: string[] = [];
          trie.match(
            topic,
            (key, value, filter) => seen.push(`${filter} ${key}=${value}`),
            (group) => {
              assert.equal(group.shareFilter, `$share/${group.name}/${group.filter}`);
              const members = [...group.members].map(([k, v]) => `${k}=${v}`).join(',');
              groups.push(`${group.shareFilter} ${members}`);
            },
          );
          const expectedSeen: string[] = [];
          const expectedGroups: string[] = [];
          for (const [filter, members] of model) {
            if (!topicMatchesFilter(topic, innerOf(filter))) continue;
            if (parseSharedFilter(filter) === undefined) {
              for (const [k, v] of members) expectedSeen.push(`${filter} ${k}=${v}`);
            } else {
              const list = [...members].map(([k, v]) => `${k}=${v}`).join(',');
              expectedGroups.push(`${filter} ${list}`);
            }
          }
          assert.deepEqual(seen.sort(), expectedSeen.sort(), `topic '${topic}'`);
          // Member order is insertion order in both, so the joined lists compare directly.
          assert.deepEqual(groups.sort(), expectedGroups.sort(), `topic '${topic}'`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('property: TopicTree.matchFilter equals brute force over topicMatchesFilter', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), topicArb), { maxLength: 40 }),
      fc.array(plainFilterArb, { minLength: 1, maxLength: 5 }),
      (ops: [boolean, string][], filters: string[]) => {
        const tree = new TopicTree<number>();
        const model = new Map<string, number>();
        ops.forEach(([set, topic], i) => {
          if (set) {
            tree.set(topic, i);
            model.set(topic, i);
          } else {
            assert.equal(tree.delete(topic), model.delete(topic));
          }
        });
        assert.equal(tree.size, model.size);
        assert.deepEqual(new Map(tree.entries()), model);
        for (const [topic, value] of model) assert.equal(tree.get(topic), value);
        for (const filter of filters) {
          const seen: string[] = [];
          tree.matchFilter(filter, (topic, value) => seen.push(`${topic}=${value}`));
          const expected = [...model]
            .filter(([topic]) => topicMatchesFilter(topic, filter))
            .map(([topic, value]) => `${topic}=${value}`);
          assert.deepEqual(seen.sort(), expected.sort(), `filter '${filter}'`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

/** An independent, obviously-correct matcher to check topicMatchesFilter itself. */
function referenceMatch(topic: string, filter: string): boolean {
  if ((filter[0] === '+' || filter[0] === '#') && topic[0] === '$') return false;
  const t = topic.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return t.length === f.length;
}

test('property: topicMatchesFilter agrees with a split-based reference matcher', () => {
  fc.assert(
    fc.property(topicArb, plainFilterArb, (topic, filter) => {
      assert.equal(topicMatchesFilter(topic, filter), referenceMatch(topic, filter));
    }),
    { numRuns: 5000 },
  );
});
