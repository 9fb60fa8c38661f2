/**
 * `cluster.inboxMaxLength` (docs/cluster.md, docs/configuration.md): the approximate cap of
 * each node's inbox stream (`XADD ... MAXLEN ~ n`). Mapped from the file to the cluster's
 * options, the default applied when embedding, and every bad value refused with a message
 * that names the key, in the file and in the embedded options alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClusterOptions } from '../../src/cluster/index.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };
const url = 'redis://r:6379';

describe('config: cluster.inboxMaxLength', () => {
  it('maps from the file, and defaults to 100000 entries', () => {
    const plan = configToPlan(
      parseConfig(`cluster:\n  url: ${url}\n  inboxMaxLength: 500000\n`),
      CTX,
    );
    assert.equal(plan.options.cluster?.inboxMaxLength, 500_000);
    assert.equal(resolveClusterOptions({ url }).inboxMaxLength, 100_000);
    assert.equal(resolveClusterOptions({ url, inboxMaxLength: 100 }).inboxMaxLength, 100);
  });

  it('refuses a cap that is not a whole number of entries from 100 to 1000000000', () => {
    for (const bad of ['99', '0', '-5', '1000000001', '2.5', '"many"']) {
      const found = problems(`cluster:\n  url: ${url}\n  inboxMaxLength: ${bad}\n`);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(
        found[0]!,
        /^cluster\.inboxMaxLength: expected a whole number of entries 100-1000000000/,
        bad,
      );
    }
    for (const bad of [99, 0, 1_000_000_001, 2.5, Number.NaN]) {
      assert.throws(
        () => resolveClusterOptions({ url, inboxMaxLength: bad }),
        (err: Error) => {
          assert.ok(err instanceof RangeError);
          assert.equal(
            err.message,
            `cluster.inboxMaxLength: ${bad} is not a whole number of entries from 100 to 1000000000`,
          );
          return true;
        },
      );
    }
  });
});
