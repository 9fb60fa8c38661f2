/**
 * 20 kills at random points of the flow (see kill-loop.ts); then nothing acknowledged is
 * missing, and no QoS 2 message is delivered twice [MQTT-4.3.2-2] [MQTT-4.3.3-10].
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKillLoop } from './kill-loop.js';

describe('durability: a loop of kill -9', () => {
  // A broker start costs 1-3 s (more on a loaded machine): a longer limit than the default.
  const options = { timeout: 240_000 };
  it(
    '20 kills at random points: nothing acknowledged is lost, QoS 2 is delivered once',
    options,
    async () => {
      const result = await runKillLoop({ kills: 20, seed: 2024 });
      assert.ok(result.acked1 > 0 && result.acked2 > 0, 'traffic was acknowledged');
      assert.deepEqual(result.lostQos1, [], 'PUBACKed QoS 1 messages lost');
      assert.deepEqual(result.lostQos2, [], 'PUBRECed QoS 2 messages lost');
      assert.deepEqual(result.duplicatedQos2, [], 'QoS 2 messages delivered twice');
    },
  );
});
