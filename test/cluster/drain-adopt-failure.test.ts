/**
 * The peer's side of a drain hand-over (`adoptHandedOver`, src/cluster/drain-peers.ts) when
 * adopting one of the sessions fails (a store read that throws): the stand-ins of the sessions
 * not adopted yet are cancelled, so none stays routed, parking messages, or pins the inbox
 * position (parked-position.ts) for a session that will never land here. Before, the loop
 * stopped at the failure and left them. The hand-over itself (real nodes, real Redis) is in
 * drain.test.ts and drain-dead-peer.test.ts; this checks what a failure leaves behind, which
 * needs a store read failing at one precise point.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adoptHandedOver } from '../../src/cluster/drain-peers.js';
import type { ArrivingSession } from '../../src/cluster/session-arrival.js';
import type { SessionMoves } from '../../src/cluster/session-move.js';

/** A stand-in as adoptHandedOver sees it: only its client id is read. */
function standIn(clientId: string): ArrivingSession {
  return { clientId } as ArrivingSession;
}

/** The session moves a drain hand-over uses, recording what happened to each stand-in. */
function recordingMoves(clientIds: string[]) {
  const landed: string[] = [];
  const cancelled: string[] = [];
  let answered: number | undefined;
  const moves = {
    receiveAll: async () => new Map(clientIds.map((id) => [id, standIn(id)])),
    landAdopted: async (stand: ArrivingSession) => {
      landed.push(stand.clientId);
    },
    cancel: (stand: ArrivingSession) => {
      cancelled.push(stand.clientId);
    },
    answerAdopted: async (_from: number, _req: string, adopted: number) => {
      answered = adopted;
    },
  } as unknown as SessionMoves;
  return { moves, landed, cancelled, answered: () => answered };
}

describe('cluster: a drain hand-over whose adoption fails half-way', () => {
  it('cancels the stand-ins of the sessions not adopted, keeps the landed one', async () => {
    const ids = ['first', 'second', 'third'];
    const { moves, landed, cancelled } = recordingMoves(ids);
    const adoptOne = async (clientId: string): Promise<boolean> => {
      if (clientId === 'second') throw new Error('store read failed');
      return true;
    };
    const message = { t: 'adopt', from: 7, req: 'r1', clientIds: ids } as Parameters<
      typeof adoptHandedOver
    >[0];
    await assert.rejects(adoptHandedOver(message, adoptOne, moves, undefined), /store read failed/);
    assert.deepEqual(landed, ['first']);
    assert.deepEqual(cancelled.sort(), ['second', 'third']);
  });

  it('cancels nothing more when every session is adopted or refused', async () => {
    const ids = ['kept', 'elsewhere'];
    const { moves, landed, cancelled, answered } = recordingMoves(ids);
    const adoptOne = async (clientId: string): Promise<boolean> => clientId === 'kept';
    const message = { t: 'adopt', from: 7, req: 'r2', clientIds: ids } as Parameters<
      typeof adoptHandedOver
    >[0];
    await adoptHandedOver(message, adoptOne, moves, undefined);
    assert.deepEqual(landed, ['kept']);
    assert.deepEqual(cancelled, ['elsewhere']);
    assert.equal(answered(), 1);
  });
});
