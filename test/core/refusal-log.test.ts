/**
 * The refusal log: every refusal counted, log lines throttled per kind and per 10 s window,
 * one line for a limit, a burst for what an operator reads one by one (failed logins,
 * denied publishes), then the number left out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCoreMetrics } from '../../src/core/index.js';
import { LOG_INTERVAL_MS, RefusalLog } from '../../src/core/limits.js';
import type { Logger } from '../../src/ports/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

function recorder(): { logger: Logger; lines: { fields: Record<string, unknown>; msg: string }[] } {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const logger: Logger = {
    error: () => {},
    warn: (fields, msg) => lines.push({ fields, msg }),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return { logger, lines };
}

describe('RefusalLog', () => {
  it('a limit: one line per window, the rest counted and reported as suppressed', () => {
    const metrics = createCoreMetrics();
    const clock = new FakeClock();
    const { logger, lines } = recorder();
    const log = new RefusalLog(metrics, logger, clock);
    for (let i = 0; i < 5; i++) log.note('connections', {}, 'refused');
    assert.equal(metrics.refused.connections, 5);
    assert.equal(lines.length, 1);
    clock.advance(LOG_INTERVAL_MS);
    log.note('connections', {}, 'refused');
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.fields.suppressed, 4);
    assert.equal(lines[1]!.fields.total, 6);
  });

  it('failed logins: up to 20 lines per window, then counted; fields built only when logged', () => {
    const metrics = createCoreMetrics();
    const clock = new FakeClock();
    const { logger, lines } = recorder();
    const log = new RefusalLog(metrics, logger, clock);
    let built = 0;
    const fields = (n: number) => {
      built++;
      return { n };
    };
    for (let i = 0; i < 25; i++) log.note('auth-failed', fields, 'authentication failed', i);
    assert.equal(metrics.refused['auth-failed'], 25);
    assert.equal(lines.length, 20);
    assert.equal(built, 20);
    assert.deepEqual(
      lines.map((l) => l.fields.n),
      Array.from({ length: 20 }, (_, i) => i),
    );
    clock.advance(LOG_INTERVAL_MS);
    log.note('auth-failed', fields, 'authentication failed', 25);
    assert.equal(lines.length, 21);
    assert.equal(lines[20]!.fields.suppressed, 5);
    assert.equal(lines[20]!.fields.limit, 'auth-failed');
  });

  it('denied publishes and subscriptions have their own windows', () => {
    const metrics = createCoreMetrics();
    const { logger, lines } = recorder();
    const log = new RefusalLog(metrics, logger, new FakeClock());
    for (let i = 0; i < 12; i++) log.note('publish-denied', {}, 'publish denied');
    for (let i = 0; i < 12; i++) log.note('subscribe-denied', {}, 'subscribe denied');
    assert.equal(lines.filter((l) => l.msg === 'publish denied').length, 10);
    assert.equal(lines.filter((l) => l.msg === 'subscribe denied').length, 10);
    assert.equal(metrics.refused['publish-denied'], 12);
  });
});
