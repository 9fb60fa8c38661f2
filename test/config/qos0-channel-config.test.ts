/**
 * `cluster.qos0Channel` (docs/cluster.md row "forwarding QoS 0", docs/configuration.md): QoS 0
 * forwards on per-node pub/sub channels instead of the inbox stream, opt-in. Mapped from the
 * file to the cluster's options, off by default when embedding; a value that is not a
 * boolean, or the option on a Redis Cluster (`nodes`), refused with a message that names the
 * key, in the file and in the embedded options alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ClusterOptions, resolveClusterOptions } from '../../src/cluster/index.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };
const url = 'redis://r:6379';

describe('config: cluster.qos0Channel', () => {
  it('maps true and false from the file, and is off by default', () => {
    for (const value of [true, false]) {
      const plan = configToPlan(
        parseConfig(`cluster:\n  url: ${url}\n  qos0Channel: ${value}\n`),
        CTX,
      );
      assert.equal(plan.options.cluster?.qos0Channel, value);
      assert.equal(resolveClusterOptions({ url, qos0Channel: value }).qos0Channel, value);
    }
    const plan = configToPlan(parseConfig(`cluster:\n  url: ${url}\n`), CTX);
    assert.equal(plan.options.cluster?.qos0Channel, undefined);
    assert.equal(resolveClusterOptions({ url }).qos0Channel, false);
  });

  it('refuses a value that is not true or false, naming the key', () => {
    for (const bad of ['"yes"', '1', 'on-ish', '[true]']) {
      const found = problems(`cluster:\n  url: ${url}\n  qos0Channel: ${bad}\n`);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, /^cluster\.qos0Channel: expected true or false\b/, bad);
    }
    for (const bad of ['yes', 1, null]) {
      assert.throws(
        () => resolveClusterOptions({ url, qos0Channel: bad as unknown as boolean }),
        (err: Error) => {
          assert.ok(err instanceof RangeError);
          assert.equal(err.message, `cluster.qos0Channel: ${String(bad)} is not true or false`);
          return true;
        },
      );
    }
  });

  it('refuses it on a Redis Cluster (a PUBLISH there reaches every shard), naming the key', () => {
    const found = problems(
      `cluster:\n  url: ${url}\n  nodes: [10.0.0.1:7000]\n  qos0Channel: true\n`,
    );
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /^cluster\.qos0Channel: not available on a Redis Cluster/);
    // Off is accepted there: it is what a Redis Cluster does anyway.
    const plan = configToPlan(
      parseConfig(`cluster:\n  url: ${url}\n  nodes: [10.0.0.1:7000]\n  qos0Channel: false\n`),
      CTX,
    );
    assert.equal(plan.options.cluster?.qos0Channel, false);
    const nodes: ClusterOptions['nodes'] = [{ host: '10.0.0.1', port: 7000 }];
    assert.throws(
      () => resolveClusterOptions({ url, nodes, qos0Channel: true }),
      /^RangeError: cluster\.qos0Channel: not available on a Redis Cluster/,
    );
    assert.equal(resolveClusterOptions({ url, nodes, qos0Channel: false }).qos0Channel, false);
  });
});
