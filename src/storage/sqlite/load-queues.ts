/** The message port's reads for the SQLite store: queue states (every client's, or one's). */
import type { LoadedQueue, StoredMessage, StoredQueueState } from '../../ports/index.js';
import { emptyQueueState } from '../shared/load-state.js';
import {
  type DeliveryRow,
  INFLIGHT_STATE,
  type MessageRow,
  toDelivery,
  toMessage,
} from './rows.js';
import type { Statements } from './statements.js';

interface InflightRow extends DeliveryRow {
  client_id: string;
  packet_id: number;
  state: number;
}

interface QueueStatsRow {
  n: number;
  bytes: number;
  last: number;
}

function addInflight(state: StoredQueueState, r: InflightRow): void {
  state.inflight.push({
    packetId: r.packet_id,
    state: r.state === INFLIGHT_STATE.pubrel ? 'pubrel' : 'publish',
    delivery: toDelivery(r),
  });
}

function setStats(state: StoredQueueState, r: QueueStatsRow): void {
  state.queuedCount = r.n;
  state.queuedBytes = r.bytes;
  state.lastSeq = r.last;
}

/** Every client's queue state, and the messages inflight entries reference. */
export function loadQueueStates(stm: Statements): {
  queues: Map<string, StoredQueueState>;
  messages: Map<number, StoredMessage>;
} {
  const queues = new Map<string, StoredQueueState>();
  const of = (clientId: string): StoredQueueState => {
    let state = queues.get(clientId);
    if (state === undefined) {
      state = emptyQueueState();
      queues.set(clientId, state);
    }
    return state;
  };
  for (const r of stm.loadInflight.iterate() as Iterable<InflightRow>)
    addInflight(of(r.client_id), r);
  for (const r of stm.loadQueueStats.iterate() as Iterable<QueueStatsRow & { client_id: string }>) {
    setStats(of(r.client_id), r);
  }
  const messages = new Map<number, StoredMessage>();
  for (const r of stm.loadInflightMessages.iterate() as Iterable<MessageRow>) {
    messages.set(r.id, toMessage(r));
  }
  return { queues, messages };
}

/** One client's queue state (empty when it has none), with its inflight entries' messages. */
export function loadQueueStateOf(stm: Statements, clientId: string): LoadedQueue {
  const state = emptyQueueState();
  for (const r of stm.loadInflightOf.iterate(clientId) as Iterable<InflightRow>)
    addInflight(state, r);
  setStats(state, stm.loadQueueStatsOf.get(clientId) as QueueStatsRow);
  const messages = new Map<number, StoredMessage>();
  for (const r of stm.loadInflightMessagesOf.iterate(clientId) as Iterable<MessageRow>) {
    messages.set(r.id, toMessage(r));
  }
  return { state, messages };
}
