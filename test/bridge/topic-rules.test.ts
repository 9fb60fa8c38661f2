/**
 * Topic rules with the meaning of Mosquitto's `topic <pattern> <direction> <qos>
 * <local-prefix> <remote-prefix>`: the local topic is local-prefix + pattern, the remote one
 * remote-prefix + pattern, and a topic crosses by swapping the prefixes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicRules } from '../../src/bridge/index.js';

describe('bridge topic rules', () => {
  it('direction out maps local to remote by swapping the prefixes; in maps back', () => {
    const rules = new TopicRules([
      { pattern: 'sensors/#', direction: 'out', localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: 'cmd/+', direction: 'in', localPrefix: 'edge/', remotePrefix: 'site1/' },
    ]);
    assert.deepEqual(
      rules.outgoing.map((r) => r.localFilter),
      ['edge/sensors/#'],
    );
    assert.deepEqual(
      rules.incoming.map((r) => r.remoteFilter),
      ['site1/cmd/+'],
    );
    assert.equal(rules.toRemote('edge/sensors/t/1'), 'site1/sensors/t/1');
    assert.equal(rules.toLocal('site1/cmd/reboot'), 'edge/cmd/reboot');
    assert.equal(rules.toRemote('edge/cmd/reboot'), undefined, 'an in rule does not forward out');
    assert.equal(rules.toLocal('site1/sensors/t'), undefined, 'an out rule does not forward in');
  });

  it('both forwards each way; defaults are out, QoS 0 and no prefixes', () => {
    const rules = new TopicRules([{ pattern: 'a/#', direction: 'both', qos: 1 }, { pattern: 'b' }]);
    assert.equal(rules.toRemote('a/x'), 'a/x');
    assert.equal(rules.toLocal('a/x'), 'a/x');
    assert.equal(rules.toRemote('b'), 'b');
    assert.equal(rules.toLocal('b'), undefined);
    assert.deepEqual(
      rules.rules.map((r) => r.qos),
      [1, 0],
    );
  });

  it('an empty pattern maps one whole topic to another (the prefixes are the topics)', () => {
    const rules = new TopicRules([
      { pattern: '', direction: 'both', localPrefix: 'here/status', remotePrefix: 'there/status' },
    ]);
    assert.equal(rules.toRemote('here/status'), 'there/status');
    assert.equal(rules.toLocal('there/status'), 'here/status');
  });
});
