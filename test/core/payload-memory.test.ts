/**
 * Payload memory (issue #19): a payload kept beyond its packet holds its own bytes plus a
 * bounded overhead, never a shared pool or slab block.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/message.js';
import { createMessage, detachPayload } from '../../src/core/message.js';
import { copyToOwnMemory, ownsItsMemory } from '../../src/core/payload-memory.js';

describe('payload memory', () => {
  it('a copy holds at most 32 times its size (4 KiB for payloads under 128 B), from 1 byte to 64 KiB', () => {
    for (const size of [1, 15, 63, 64, 65, 100, 380, 513, 1024, 1025, 4095, 4096, 4097, 65536]) {
      const source = Buffer.alloc(size, size & 0xff);
      const copy = copyToOwnMemory(source);
      assert.ok(copy.equals(source), `${size}: same bytes`);
      const pinned = copy.buffer.byteLength;
      assert.ok(pinned <= 32 * Math.max(size, 128), `${size} B pins ${pinned} B`);
      assert.ok(ownsItsMemory(copy), `${size}: not copied again`);
    }
    assert.equal(copyToOwnMemory(Buffer.alloc(0)).buffer.byteLength, 0);
  });

  it("a view into a shared block (Node's 8 KiB pool, the decoder's 64 KiB slab) is copied", () => {
    const pooled = Buffer.from('a small payload in the pool');
    assert.equal(pooled.buffer.byteLength, 8192, "Node's pool");
    assert.equal(ownsItsMemory(pooled), false);
    const slab = Buffer.allocUnsafeSlow(65536).subarray(100, 480);
    assert.equal(ownsItsMemory(slab), false);
    assert.equal(ownsItsMemory(Buffer.allocUnsafeSlow(65536).subarray(0, 4096)), true, '16x');
    assert.equal(ownsItsMemory(Buffer.allocUnsafeSlow(65536).subarray(0, 1024)), false, '64x');
  });

  it('detachPayload copies a shared payload once per message, and a copy is not copied again', () => {
    const shared = Buffer.allocUnsafeSlow(65536).subarray(0, 10);
    shared.write('0123456789');
    const message: Message = createMessage(
      1,
      { topic: 't', payload: shared, qos: 1, retain: true },
      0,
    );
    const detached = detachPayload(message);
    assert.notEqual(detached.payload.buffer, shared.buffer);
    assert.equal(detached.payload.toString(), '0123456789');
    assert.equal(detachPayload(message), detached, 'the same copy for the same message');
    assert.equal(detachPayload(detached), detached, 'a detached message stays as it is');
  });
});
