/** `readQueue()` for the SQLite store: one query joining queue entries with their messages. */
import type { QueuedEntry, StoredMessage } from '../../ports/index.js';
import { type MessageRow, toDelivery, toMessage } from './rows.js';
import type { Statements } from './statements.js';

interface QueueRow extends Omit<MessageRow, 'id'> {
  seq: number;
  message_id: number;
  d_qos: number;
  d_retain: number;
  subscription_ids: string | null;
  share_filter: string | null;
  /** Null when the message is missing. */
  id: number | null;
}

/** Up to `limit` entries of `clientId` after `afterSeq`, in order, with their messages. */
export function readQueueRows(
  stm: Statements,
  clientId: string,
  afterSeq: number,
  limit: number,
): { entries: QueuedEntry[]; messages: Map<number, StoredMessage> } {
  // A negative LIMIT means "no limit" in SQLite.
  const rows = stm.readQueue.all(clientId, afterSeq, Math.max(0, limit)) as QueueRow[];
  const entries: QueuedEntry[] = [];
  const messages = new Map<number, StoredMessage>();
  for (const r of rows) {
    entries.push({
      seq: r.seq,
      delivery: toDelivery({
        message_id: r.message_id,
        qos: r.d_qos,
        retain: r.d_retain,
        subscription_ids: r.subscription_ids,
        share_filter: r.share_filter,
      }),
    });
    if (r.id !== null && !messages.has(r.id)) messages.set(r.id, toMessage(r as MessageRow));
  }
  return { entries, messages };
}
