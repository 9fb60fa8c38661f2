import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeepAliveItem } from '../../src/core/keep-alive-deadlines.js';
import { KeepAliveDeadlines } from '../../src/core/keep-alive-deadlines.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A client that times out `limit` ms after its last packet, like a Connection. */
class Client implements KeepAliveItem {
  keepAliveSlot = -1;
  lastActivity: number;
  timedOutAt: number | undefined;

  constructor(
    readonly name: string,
    private readonly clock: FakeClock,
    readonly limit: number,
    private readonly deadlines: KeepAliveDeadlines,
  ) {
    this.lastActivity = clock.now();
  }

  packet(): void {
    this.lastActivity = this.clock.now();
  }

  keepAliveDue(now: number): number {
    if (now - this.lastActivity >= this.limit) {
      this.timedOutAt = now;
      this.deadlines.remove(this); // as Connection.finish does
      return -1;
    }
    return this.lastActivity + this.limit;
  }
}

describe('KeepAliveDeadlines (one timer for every keep alive)', () => {
  it('[MQTT-3.1.2-24] (3.1.1) [MQTT-3.1.2-22] (5.0) each item times out exactly at its own deadline, whatever the order of adding', () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const deadlines = new KeepAliveDeadlines(clock);
    const limits = [9000, 1500, 4500, 3000, 1500, 7500, 6000];
    const clients = limits.map((ms, i) => new Client(`c${i}`, clock, ms, deadlines));
    for (const c of clients) deadlines.schedule(c, t0 + c.limit);
    clock.advance(10_000);
    for (const c of clients) assert.equal(c.timedOutAt, t0 + c.limit, c.name);
    assert.equal(deadlines.size, 0);
  });

  it('[MQTT-3.1.2-24] (3.1.1) [MQTT-3.1.2-22] (5.0) a packet moves the timeout to 1.5 x keep alive after it, not before', () => {
    const clock = new FakeClock();
    const deadlines = new KeepAliveDeadlines(clock);
    const active = new Client('active', clock, 1500, deadlines);
    const idle = new Client('idle', clock, 1500, deadlines);
    deadlines.schedule(active, clock.now() + 1500);
    deadlines.schedule(idle, clock.now() + 1500);
    clock.advance(1000);
    active.packet();
    const packetAt = clock.now();
    clock.advance(500);
    assert.equal(idle.timedOutAt, packetAt + 500, 'the idle one at its deadline');
    assert.equal(active.timedOutAt, undefined, 'the active one is kept');
    clock.advance(999);
    assert.equal(active.timedOutAt, undefined);
    clock.advance(1);
    assert.equal(active.timedOutAt, packetAt + 1500);
  });

  it('a removed item is never called and not held; the timer follows the earliest deadline', () => {
    const clock = new FakeClock();
    const deadlines = new KeepAliveDeadlines(clock);
    const clients = Array.from(
      { length: 50 },
      (_, i) => new Client(`c${i}`, clock, 100 + ((i * 37) % 50) * 10, deadlines),
    );
    for (const c of clients) deadlines.schedule(c, clock.now() + c.limit);
    const removed = clients.filter((_, i) => i % 3 === 0);
    for (const c of removed) deadlines.remove(c);
    for (const c of removed) assert.equal(c.keepAliveSlot, -1);
    assert.equal(deadlines.size, clients.length - removed.length);
    const start = clock.now();
    clock.advance(1000);
    for (const c of clients) {
      if (removed.includes(c)) assert.equal(c.timedOutAt, undefined, c.name);
      else assert.equal(c.timedOutAt, start + c.limit, c.name);
    }
    assert.equal(deadlines.size, 0);
  });

  it('scheduling an item again moves it instead of adding it twice', () => {
    const clock = new FakeClock();
    const deadlines = new KeepAliveDeadlines(clock);
    const c = new Client('c', clock, 1000, deadlines);
    deadlines.schedule(c, clock.now() + 5000);
    deadlines.schedule(c, clock.now() + 1000);
    assert.equal(deadlines.size, 1);
    clock.advance(1000);
    assert.equal(c.timedOutAt, clock.now());
  });

  it('stop() forgets every item and fires nothing later', () => {
    const clock = new FakeClock();
    const deadlines = new KeepAliveDeadlines(clock);
    const c = new Client('c', clock, 1000, deadlines);
    deadlines.schedule(c, clock.now() + 1000);
    deadlines.stop();
    clock.advance(5000);
    assert.equal(c.timedOutAt, undefined);
    assert.equal(c.keepAliveSlot, -1);
    assert.equal(deadlines.size, 0);
  });
});
