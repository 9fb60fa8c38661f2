/**
 * The commit ordering of one connection's output (src/core/commit-order.ts), on its own: a
 * real Persistence over a memory store whose commits the test holds and releases (or fails),
 * and an output that records what it was asked to write. Acknowledge after ownership, in
 * order [MQTT-4.6.0-2] [MQTT-4.6.0-3]; QoS 2 copies onward after the commit [MQTT-4.3.3-9]
 * and in routed order [MQTT-4.6.0-6]; a failed commit answered 0x97 (v5) or by a close (v3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitOrderedOutput } from '../../src/core/commit-order.js';
import { CommitOrder } from '../../src/core/commit-order.js';
import type { ClientInfo } from '../../src/core/index.js';
import { Persistence } from '../../src/core/persistence.js';
import { SessionRecord } from '../../src/core/session-record.js';
import { silentLogger } from '../../src/ports/index.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { flush } from '../helpers/core-harness.js';

/** A memory store whose commits wait until the test settles them. */
class HeldStore extends MemoryStore {
  private waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  override commit(): Promise<void> {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Commits waiting now. */
  get pending(): number {
    return this.waiting.length;
  }

  release(): void {
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  fail(): void {
    for (const w of this.waiting.splice(0)) w.reject(new Error('disk full'));
  }
}

const CLIENT: ClientInfo = {
  clientId: 'c',
  username: undefined,
  usernameVerified: false,
  protocolVersion: 5,
  remoteAddress: undefined,
  listener: 'test',
  certificateIdentity: undefined,
};

/** An output that records what it was asked to do, in order. */
class RecordingOutput implements CommitOrderedOutput {
  readonly log: string[] = [];
  readonly sent: Packet[] = [];
  closed = false;
  readonly session = new SessionRecord('c');
  readonly client = CLIENT;

  constructor(readonly version: ProtocolVersion | undefined) {}

  send(packet: Packet): void {
    this.sent.push(packet);
    this.log.push(`send ${packet.type}${'packetId' in packet ? ` ${packet.packetId}` : ''}`);
  }
  writeBytes(bytes: Buffer): void {
    this.log.push(`write ${bytes.toString()}`);
  }
  closeNow(_reason: string, reasonCode: number): void {
    this.log.push(`closeNow 0x${reasonCode.toString(16)}`);
    this.closed = true;
  }
  finish(reason: { reasonCode: number | undefined }): void {
    this.log.push(`finish 0x${reason.reasonCode?.toString(16)}`);
    this.closed = true;
  }
}

function setup(version: ProtocolVersion = 5) {
  const store = new HeldStore();
  const persistence = new Persistence(store, () => {});
  const out = new RecordingOutput(version);
  const order = new CommitOrder(out, persistence, silentLogger);
  /** A step that writes to the store: returns the mark taken before it. */
  const write = (): number => {
    const mark = persistence.mutations;
    persistence.deleteWill('c');
    return mark;
  };
  return { store, persistence, out, order, write };
}

describe('commit ordering of acknowledgements and held QoS 2 copies', () => {
  it('an acknowledgement whose step wrote nothing goes out at once, `after` right after it', () => {
    const { persistence, out, order } = setup();
    order.ack({ type: 'puback', packetId: 1 }, persistence.mutations, () => out.log.push('after'));
    assert.deepEqual(out.log, ['send puback 1', 'after']);
  });

  it('[MQTT-4.6.0-2] an acknowledgement waits for the commit of what its step wrote, and later ones wait behind it', async () => {
    const { store, persistence, out, order, write } = setup();
    order.ack({ type: 'puback', packetId: 1 }, write());
    order.ack({ type: 'puback', packetId: 2 }, persistence.mutations); // wrote nothing itself
    order.ack({ type: 'pubrec', packetId: 3 }, write());
    await flush();
    assert.deepEqual(out.log, [], 'nothing before the commit');
    store.release();
    await flush();
    store.release(); // the second write's commit
    await flush();
    assert.deepEqual(out.log, ['send puback 1', 'send puback 2', 'send pubrec 3']);
    order.ack({ type: 'puback', packetId: 4 }, persistence.mutations);
    assert.deepEqual(out.log.at(-1), 'send puback 4', 'at once again once nothing waits');
  });

  it('[MQTT-4.3.3-9] [MQTT-4.6.0-6] held PUBLISH bytes are written after the commit, in order, and count as unsent output meanwhile', async () => {
    const { store, out, order } = setup();
    assert.equal(order.holdsPublishes, false);
    assert.equal(order.heldWrites(), undefined);
    order.writeAfterCommit(Buffer.from('q2-a'));
    order.writeAfterCommit(Buffer.from('q0-b'));
    assert.equal(order.holdsPublishes, true, 'a later PUBLISH must queue behind the held one');
    assert.equal(order.heldBytes, 8);
    const written = order.heldWrites();
    assert.ok(written);
    await flush();
    assert.deepEqual(out.log, []);
    store.release();
    await written;
    assert.deepEqual(out.log, ['write q2-a', 'write q0-b']);
    assert.equal(order.heldBytes, 0);
    assert.equal(order.holdsPublishes, false);
  });

  it('a held PUBLISH is written even when its commit fails, but never after the connection closed', async () => {
    const first = setup();
    first.order.writeAfterCommit(Buffer.from('kept'));
    // The held write takes its commit once the turn is over (persistence.commitAfterTurn).
    await new Promise((resolve) => setImmediate(resolve));
    first.store.fail();
    await flush();
    assert.deepEqual(first.out.log, ['write kept']);

    const second = setup();
    second.order.writeAfterCommit(Buffer.from('late'));
    second.out.closed = true;
    await new Promise((resolve) => setImmediate(resolve));
    second.store.release();
    await flush();
    assert.deepEqual(second.out.log, []);
    assert.equal(second.order.heldBytes, 0);
  });

  it('a failed commit: MQTT 5 PUBACK and PUBREC carry 0x97, SUBACK 0x80 for every filter, others close with 0x80', async () => {
    const { store, out, order, write } = setup(5);
    out.session.addInboundQos2(7);
    order.ack({ type: 'puback', packetId: 1, reasonCode: 0 }, write());
    order.ack({ type: 'pubrec', packetId: 7, reasonCode: 0 }, write());
    order.ack({ type: 'suback', packetId: 3, reasonCodes: [0, 1] }, write());
    await flush();
    assert.ok(store.pending >= 3, 'each step waits for its commit');
    store.fail();
    await flush();
    assert.deepEqual(
      out.sent.map((p) => [p.type, 'reasonCode' in p ? p.reasonCode : undefined]),
      [
        ['puback', ReasonCode.QuotaExceeded],
        ['pubrec', ReasonCode.QuotaExceeded],
        ['suback', undefined],
      ],
    );
    const suback = out.sent[2] as Extract<Packet, { type: 'suback' }>;
    assert.deepEqual(suback.reasonCodes, [
      ReasonCode.UnspecifiedError,
      ReasonCode.UnspecifiedError,
    ]);
    assert.equal(out.session.inboundQos2.has(7), false, 'the refused QoS 2 id is not kept');

    const unsub = setup(5);
    unsub.order.ack({ type: 'unsuback', packetId: 4, reasonCodes: [0] }, unsub.write());
    unsub.store.fail();
    await flush();
    assert.deepEqual(unsub.out.log, ['closeNow 0x80']);
  });

  it('a failed commit: MQTT 3.x cannot say it, so the connection ends and the client sends again', async () => {
    const { store, out, order, write } = setup(4);
    order.ack({ type: 'puback', packetId: 1 }, write());
    store.fail();
    await flush();
    assert.deepEqual(out.log, [`finish 0x${ReasonCode.QuotaExceeded.toString(16)}`]);
    assert.equal(out.sent.length, 0);
  });
});
