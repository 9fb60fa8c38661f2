/**
 * The throttled log of malformed input read from Redis (src/cluster/malformed.ts): every
 * input is counted, the first of a kind logged at once, then one line per kind per interval
 * saying how many were not logged since. A clock the test moves, so nothing depends on time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedInput } from '../../src/cluster/malformed.js';
import type { Logger } from '../../src/ports/index.js';

function capturing(lines: Record<string, unknown>[]): Logger {
  const logger = {
    error: () => {},
    warn: (obj: Record<string, unknown>, msg?: string) => {
      lines.push({ ...obj, msg });
    },
    info: () => {},
    debug: () => {},
    child: () => logger,
  } as unknown as Logger;
  return logger;
}

describe('cluster: malformed input from Redis', () => {
  it('counts every input, logs the first of each kind at once and then at most one line per kind per 10 s, with how many were not logged', () => {
    const lines: Record<string, unknown>[] = [];
    let now = 1_000_000;
    const malformed = new MalformedInput(capturing(lines), () => now);
    malformed.note('inbox', 'not a forwarded batch', { entry: '1-0' });
    malformed.note('inbox', 'not a forwarded batch', { entry: '2-0' });
    malformed.note('routes', 'not JSON');
    now += 9_999;
    malformed.note('inbox', 'no topic');
    now += 1;
    malformed.note('inbox', 'QoS is not 0, 1 or 2');
    assert.deepEqual(malformed.counters, { inbox: 4, routes: 1, control: 0, retained: 0 });
    assert.deepEqual(
      lines.map((l) => [l.kind, l.reason, l.notLoggedSince, l.msg]),
      [
        ['inbox', 'not a forwarded batch', 0, 'cluster: malformed inbox input from Redis skipped'],
        ['routes', 'not JSON', 0, 'cluster: malformed routes input from Redis skipped'],
        ['inbox', 'QoS is not 0, 1 or 2', 2, 'cluster: malformed inbox input from Redis skipped'],
      ],
    );
  });

  it('cuts a sample of a long text for the log line', () => {
    assert.equal(MalformedInput.sample('short'), 'short');
    assert.equal(MalformedInput.sample('x'.repeat(500)), `${'x'.repeat(200)}...`);
  });
});
