/**
 * The start-up read of a store that implements the session and message ports: each session
 * record joined with its queue state, the messages its inflight entries reference, the wills
 * and the last message id (`BrokerStore.load`).
 */
import type {
  LoadedState,
  MessageStore,
  SessionStore,
  StoredMessage,
  StoredQueueState,
  StoredSession,
  StoredSessionRecord,
} from '../../ports/index.js';

/** The queue state of a client with nothing queued or inflight. */
export function emptyQueueState(): StoredQueueState {
  return { inflight: [], queuedCount: 0, queuedBytes: 0, lastSeq: 0 };
}

/** A session record with its queue state (empty when the client has none). */
export function withQueue(
  record: StoredSessionRecord,
  queue: StoredQueueState | undefined,
): StoredSession {
  return { ...record, ...(queue ?? emptyQueueState()) };
}

/** Reads what `BrokerStore.load` returns through the two ports. */
export async function loadState(store: SessionStore & MessageStore): Promise<LoadedState> {
  const records = await store.loadSessions();
  const loaded = await store.loadQueues();
  const wills = await store.loadWills();
  const sessions = records.map((record) => withQueue(record, loaded.queues.get(record.clientId)));
  // Only the messages of sessions: inflight rows of a client id without a session are not loaded.
  const messages = new Map<number, StoredMessage>();
  for (const session of sessions) {
    for (const inflight of session.inflight) {
      const message = loaded.messages.get(inflight.delivery.messageId);
      if (message !== undefined) messages.set(message.id, message);
    }
  }
  return { sessions, messages, wills, lastMessageId: loaded.lastMessageId };
}
