/**
 * The parked cursor (src/cluster/parked-position.ts): what a node writes beside its inbox
 * position while stand-ins hold parked messages, and what a survivor makes of what it reads
 * back. The value comes from Redis, so anything may be there (an older node's, a hand-written
 * one, garbage): a value that is not one is no parked range (the survivor reads on from the
 * committed position as before), never an exception. The move that writes it, the death that
 * reads it, are in session-move-new-node-dies.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareStreamIds,
  decodeParked,
  ParkedPosition,
  parkedCursor,
} from '../../src/cluster/parked-position.js';

describe('cluster: the parked cursor of an inbox', () => {
  it('reads back what a node writes: the earliest pin and the client ids holding parked messages', () => {
    const pins = new ParkedPosition();
    const a = { clientId: 'sensor-a' };
    const b = { clientId: 'sensor-b' };
    assert.equal(pins.value(), undefined, 'nothing pinned, nothing written');
    pins.reading = '1700000000000-5';
    pins.pin(a);
    pins.reading = '1700000000000-3';
    pins.pin(b);
    pins.reading = '1700000000001-0';
    pins.pin(a); // pinned already: keeps its earlier entry
    pins.reading = undefined;
    assert.equal(pins.since(), '1700000000000-3');
    assert.deepEqual(decodeParked(pins.value()), {
      since: '1700000000000-3',
      clientIds: ['sensor-a', 'sensor-b'],
    });
    let unpinned = 0;
    pins.onUnpin = () => unpinned++;
    pins.unpin(b);
    assert.equal(pins.since(), '1700000000000-5');
    pins.unpin(a);
    pins.unpin(a); // gone already: not told twice
    assert.equal(unpinned, 2);
    assert.equal(pins.value(), undefined);
  });

  it('knows the first parked entry of the earliest pin (what the inbox cap must not trim)', () => {
    const pins = new ParkedPosition();
    const a = { clientId: 'sensor-a' };
    const b = { clientId: 'sensor-b' };
    assert.equal(pins.earliestEntry(), undefined);
    pins.reading = '1700000000000-5';
    pins.entry = '1700000000000-7';
    pins.pin(a);
    pins.reading = '1700000000000-3';
    pins.entry = '1700000000000-4';
    pins.pin(b);
    pins.reading = pins.entry = undefined;
    assert.equal(pins.earliestEntry(), '1700000000000-4');
    assert.deepEqual(pins.clientIds(), ['sensor-a', 'sensor-b']);
    pins.unpin(b);
    assert.equal(pins.earliestEntry(), '1700000000000-7');
    pins.unpin(a);
    assert.equal(pins.earliestEntry(), undefined);
  });

  it('pins nothing outside an inbox read (a local publish, a dead node’s inbox)', () => {
    const pins = new ParkedPosition();
    pins.pin({ clientId: 'local' });
    assert.equal(pins.value(), undefined);
  });

  it('reads garbage from Redis as no parked range, without throwing', () => {
    for (const value of [
      undefined,
      '',
      'garbage',
      '1700000000000-3', // a position without client ids
      'not-an-id\u0000sensor-a',
      '17000-00-1\u0000sensor-a',
      '-1-2\u0000sensor-a',
      '\u0000sensor-a',
    ]) {
      assert.equal(decodeParked(value), undefined, JSON.stringify(value));
    }
    assert.deepEqual(decodeParked('0-1\u0000x'), { since: '0-1', clientIds: ['x'] });
  });

  it('orders stream ids by time, then sequence, beyond the range of a double', () => {
    assert.ok(compareStreamIds('1-9', '2-0') < 0);
    assert.ok(compareStreamIds('2-10', '2-9') > 0);
    assert.equal(compareStreamIds('5-5', '5-5'), 0);
    assert.ok(compareStreamIds('18446744073709551614-0', '18446744073709551615-0') < 0);
    assert.equal(parkedCursor('cursor:inbox:7/abc'), 'cursor:inbox:7/abc:parked');
  });
});
