import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSharedFilter } from '../../src/topic/index.js';

test('parseSharedFilter splits $share/{group}/{filter} (5.0 section 4.8.2)', () => {
  assert.deepEqual(parseSharedFilter('$share/g1/sport/tennis/+'), {
    group: 'g1',
    filter: 'sport/tennis/+',
  });
  assert.deepEqual(parseSharedFilter('$share/consumer1/#'), { group: 'consumer1', filter: '#' });
  // The inner filter keeps its own empty levels.
  assert.deepEqual(parseSharedFilter('$share/g//a'), { group: 'g', filter: '/a' });
  assert.deepEqual(parseSharedFilter('$share/g/$SYS/x'), { group: 'g', filter: '$SYS/x' });
});

test('parseSharedFilter returns undefined for non-shared filters', () => {
  for (const filter of ['a/b', '#', '+/x', '$SYS/#', '$shared/g/a', 'share/g/a', '$Share/g/a']) {
    assert.equal(parseSharedFilter(filter), undefined, filter);
  }
});

test('parseSharedFilter never yields an empty group or filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  for (const filter of ['$share/', '$share//a', '$share/g', '$share/g/']) {
    assert.equal(parseSharedFilter(filter), undefined, filter);
  }
});
