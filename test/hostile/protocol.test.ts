/**
 * The hostile-input table over real TCP: for each case, the exact answer (CONNACK or
 * DISCONNECT reason code, or a close without one), then proof that the broker still serves
 * a new client (connect, subscribe, publish, receive) and that no connection was left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { RawClient, roundTrip } from '../helpers/raw-client.js';
import { HOSTILE_CASES, type HostileCase, TABLE_BROKER } from './cases.js';

/** Sends one case and checks the broker's answer. */
async function runCase(port: number, c: HostileCase, index: number): Promise<void> {
  const client = c.connectFirst
    ? await RawClient.connected(port, c.version, `hostile-${index}`)
    : await RawClient.open(port, c.version);
  try {
    client.write(c.bytes);
    const expect = c.expect;
    if (expect.kind === 'answer') {
      const answer = await client.next(expect.type);
      const codes = 'reasonCodes' in answer ? answer.reasonCodes : [answer.reasonCode ?? 0];
      assert.deepEqual(codes, expect.codes);
      assert.ok(client.isOpen, 'the connection stays open');
      return;
    }
    await client.waitClose(5000);
    assert.equal(client.decodeError, undefined, 'what the broker sent decodes');
    const got = client.received.map((p) =>
      p.type === 'connack' || p.type === 'disconnect'
        ? `${p.type} 0x${(p.reasonCode ?? 0).toString(16)}`
        : p.type,
    );
    const want = expect.kind === 'close' ? [] : [`${expect.kind} 0x${expect.code.toString(16)}`];
    assert.deepEqual(got, want);
  } finally {
    client.destroy();
  }
}

describe('hostile input over TCP: exact answers, and the broker keeps serving', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker({ ...TABLE_BROKER });
  });
  after(async () => {
    await tb.close();
  });

  HOSTILE_CASES.forEach((c, index) => {
    const version = c.version === 5 ? 'v5' : c.version === 4 ? 'v3.1.1' : 'v3.1';
    it(`${c.name} (${version})`, async () => {
      await runCase(tb.port, c, index);
      await roundTrip(tb.port, String(index));
      await waitFor(
        async () => (await tb.broker.admin.counters()).connectionsOpen === 0,
        5000,
        'every connection closed',
      );
    });
  });

  it('the table has at least 60 cases, each with a unique name', () => {
    assert.ok(HOSTILE_CASES.length >= 60, `${HOSTILE_CASES.length} cases`);
    assert.equal(new Set(HOSTILE_CASES.map((c) => c.name)).size, HOSTILE_CASES.length);
  });
});
