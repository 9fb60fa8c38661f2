import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectDeadlines } from '../../src/core/connect-deadlines.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('ConnectDeadlines (one timer for every connect timeout)', () => {
  it('expires items in order, each exactly timeoutMs after it was added', () => {
    const clock = new FakeClock();
    const expired: string[] = [];
    const deadlines = new ConnectDeadlines<string>(clock, 1000, (s) => expired.push(s));
    deadlines.add('a');
    clock.advance(300);
    deadlines.add('b');
    clock.advance(699);
    assert.deepEqual(expired, []);
    clock.advance(1);
    assert.deepEqual(expired, ['a']);
    clock.advance(299);
    assert.deepEqual(expired, ['a']);
    clock.advance(1);
    assert.deepEqual(expired, ['a', 'b']);
    assert.equal(deadlines.size, 0);
  });

  it('a removed item never expires and is not held', () => {
    const clock = new FakeClock();
    const expired: number[] = [];
    const deadlines = new ConnectDeadlines<number>(clock, 100, (n) => expired.push(n));
    const tickets = [1, 2, 3].map((n) => deadlines.add(n));
    deadlines.remove(tickets[1]!);
    clock.advance(100);
    assert.deepEqual(expired, [1, 3]);
    deadlines.remove(tickets[0]!); // after expiry: a no-op
    deadlines.add(4);
    clock.advance(100);
    assert.deepEqual(expired, [1, 3, 4]);
  });

  it('tickets stay valid after the queue is compacted', () => {
    const clock = new FakeClock();
    const expired: number[] = [];
    const deadlines = new ConnectDeadlines<number>(clock, 10, (n) => expired.push(n));
    for (let i = 0; i < 3000; i++) deadlines.add(i);
    clock.advance(5);
    const late = [3000, 3001].map((n) => deadlines.add(n));
    clock.advance(5); // the first 3000 expire, the queue is compacted
    assert.equal(expired.length, 3000);
    deadlines.remove(late[0]!);
    clock.advance(5);
    assert.deepEqual(expired.slice(3000), [3001]);
  });

  it('stop() cancels every pending timeout', () => {
    const clock = new FakeClock();
    const expired: number[] = [];
    const deadlines = new ConnectDeadlines<number>(clock, 10, (n) => expired.push(n));
    deadlines.add(1);
    deadlines.stop();
    clock.advance(100);
    assert.deepEqual(expired, []);
  });
});
