/**
 * Mosquitto's load averages: a counter's growth per minute, as exponential moving averages
 * over 1, 5 and 15 minutes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOAD_WINDOWS, LoadAverage } from '../../src/ops/index.js';

const close = (actual: number, expected: number, what: string, within = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < within, `${what}: ${actual} != ${expected}`);

describe('LoadAverage', () => {
  it('windows of 1, 5 and 15 minutes, starting at 0', () => {
    assert.deepEqual(
      LOAD_WINDOWS.map(([suffix, seconds]) => `${suffix}=${seconds}`),
      ['1min=60', '5min=300', '15min=900'],
    );
    assert.deepEqual(new LoadAverage(1234).values, [0, 0, 0]);
  });

  it('one step: the rate per minute, weighted by 1 - e^(-elapsed/window)', () => {
    const load = new LoadAverage(100);
    load.update(100 + 600, 60); // 600 in a minute: 600 per minute
    close(load.values[0], 600 * (1 - Math.exp(-1)), '1min');
    close(load.values[1], 600 * (1 - Math.exp(-60 / 300)), '5min');
    close(load.values[2], 600 * (1 - Math.exp(-60 / 900)), '15min');
  });

  it('a steady rate converges to it; silence decays towards 0', () => {
    const load = new LoadAverage(0);
    let total = 0;
    for (let i = 0; i < 2000; i++) load.update((total += 50), 10); // 300 per minute
    for (const value of load.values) close(value, 300, 'steady', 1e-6);
    const before = [...load.values];
    load.update(total, 10);
    load.values.forEach((value, i) => {
      assert.ok(value < before[i]!, 'decays');
      close(value, before[i]! * Math.exp(-10 / LOAD_WINDOWS[i]![1]), `decay ${i}`);
    });
  });

  it('an update with no time elapsed moves only the baseline', () => {
    const load = new LoadAverage(0);
    load.update(1000, 0);
    assert.deepEqual(load.values, [0, 0, 0]);
    load.update(1000 + 60, 60); // only the 60 since the baseline count
    close(load.values[0], 60 * (1 - Math.exp(-1)), '1min');
  });
});
