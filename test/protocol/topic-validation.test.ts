/**
 * Topic Name and Topic Filter validators (spec 4.7, 4.8.2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isValidTopicFilter,
  isValidTopicName,
  type MqttError,
  validateTopicFilter,
  validateTopicName,
} from '../../src/protocol/index.js';

function rejection(fn: () => void): MqttError {
  try {
    fn();
  } catch (err) {
    return err as MqttError;
  }
  assert.fail('expected a rejection');
}

describe('topic names', () => {
  it('accepts ordinary names, including empty levels and $ topics', () => {
    for (const t of ['a', 'a/b/c', '/', 'a//b', '$SYS/broker', 'température', ' ']) {
      assert.ok(isValidTopicName(t), t);
      validateTopicName(t);
    }
  });
  it('[MQTT-4.7.0-1] (5.0) [MQTT-4.7.1-1] (3.1.1) rejects wildcards in topic names (0x90)', () => {
    for (const t of ['+', 'a/#', 'a+b', 'sport/tennis/#']) {
      const err = rejection(() => validateTopicName(t));
      assert.equal(err.reasonCode, 0x90);
      assert.equal(err.specId, 'MQTT-4.7.0-1');
    }
  });
  it('[MQTT-4.7.3-1] rejects an empty name unless allowed (topic alias)', () => {
    assert.equal(rejection(() => validateTopicName('')).specId, 'MQTT-4.7.3-1');
    validateTopicName('', true);
    assert.equal(isValidTopicName(''), false);
  });
  it('[MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-4.7.3-3] rejects U+0000, lone surrogates and names over 65535 bytes', () => {
    for (const t of ['a\0b', 'a\ud800', '\udc00x', 'é'.repeat(32_768)]) {
      assert.equal(rejection(() => validateTopicName(t)).reasonCode, 0x90);
      assert.equal(isValidTopicName(t), false);
    }
    assert.ok(isValidTopicName('😀'));
  });
});

describe('topic filters', () => {
  it('accepts valid filters', () => {
    for (const f of [
      '#',
      '+',
      'a/+/b',
      '+/+',
      'a/#',
      '/#',
      '+/',
      'sport/tennis/+',
      '$share/g/a/#',
      '$share/g/+',
      '$share',
    ]) {
      assert.ok(isValidTopicFilter(f), f);
      validateTopicFilter(f);
    }
  });
  it('[MQTT-4.7.1-1] (5.0) [MQTT-4.7.1-2] (3.1.1) rejects # that is not alone in the last level (0x8F)', () => {
    for (const f of ['a/#/b', 'a#', '#/', 'a/b#']) {
      const err = rejection(() => validateTopicFilter(f));
      assert.equal(err.reasonCode, 0x8f, f);
      assert.equal(err.specId, 'MQTT-4.7.1-1', f);
    }
  });
  it('[MQTT-4.7.1-2] (5.0) [MQTT-4.7.1-3] (3.1.1) rejects + that does not occupy a whole level', () => {
    for (const f of ['a+', '+a', 'a/b+/c', '++']) {
      assert.equal(rejection(() => validateTopicFilter(f)).specId, 'MQTT-4.7.1-2', f);
    }
  });
  it('[MQTT-4.7.3-1] rejects the empty filter', () => {
    assert.equal(rejection(() => validateTopicFilter('')).specId, 'MQTT-4.7.3-1');
  });
  it('[MQTT-4.8.2-1] [MQTT-4.8.2-2] checks $share/{ShareName}/{filter}', () => {
    const cases: [string, string][] = [
      ['$share/', 'MQTT-4.8.2-1'],
      ['$share//a', 'MQTT-4.8.2-1'],
      ['$share/g', 'MQTT-4.8.2-2'],
      ['$share/g/', 'MQTT-4.8.2-2'],
      ['$share/g+/a', 'MQTT-4.8.2-2'],
      ['$share/#/a', 'MQTT-4.8.2-2'],
      ['$share/g/a#', 'MQTT-4.7.1-1'],
    ];
    for (const [f, id] of cases) {
      const err = rejection(() => validateTopicFilter(f));
      assert.equal(err.reasonCode, 0x8f, f);
      assert.equal(err.specId, id, f);
    }
  });
  it('[MQTT-1.5.4-2] [MQTT-1.5.3-2] [MQTT-4.7.3-2] rejects U+0000 in a filter', () => {
    assert.equal(isValidTopicFilter('a/\0'), false);
  });
});
