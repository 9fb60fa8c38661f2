/**
 * The message port's reads for the Redis store: a page of a queue, one client's queue state,
 * every client's. Each reads with one pipelined round trip per step (entries, then the
 * message bodies they reference), after the caller flushed the pending batch: Redis runs
 * commands of one connection in order, so the reads see every earlier mutation.
 */
import type {
  LoadedQueue,
  LoadedQueues,
  QueuePage,
  StoredInflight,
  StoredMessage,
  StoredQueueState,
} from '../../ports/index.js';
import { decodeInflight, decodeMessage, decodeQueueEntry } from './redis-codec.js';
import type { RedisContext } from './redis-context.js';

/** How many clients' queue states are read per round trip at start. */
const LOAD_PAGE = 200;

/** Up to `limit` entries after `afterSeq`, in order, with the messages they reference. */
export async function readQueuePage(
  ctx: RedisContext,
  clientId: string,
  afterSeq: number,
  limit: number,
): Promise<QueuePage> {
  if (limit <= 0) return { entries: [], messages: new Map() };
  const { client } = ctx.conn();
  const k = ctx.keys.client(clientId);
  const members = await client.zrangebyscore(k.queue, `(${afterSeq}`, '+inf', 'LIMIT', 0, limit);
  const entries = members.map(decodeQueueEntry);
  const messages = await readMessages(
    ctx,
    entries.map((e) => e.delivery.messageId),
  );
  return { entries, messages };
}

/** One client's queue state with the messages of its inflight entries. */
export async function readQueueState(ctx: RedisContext, clientId: string): Promise<LoadedQueue> {
  const [state] = await readStates(ctx, [clientId]);
  const messages = await readMessages(ctx, inflightIds([state]));
  return { state, messages };
}

/** Every client's non-empty queue state, the messages inflight entries reference, the last id. */
export async function readQueueStates(ctx: RedisContext): Promise<LoadedQueues> {
  const { client } = ctx.conn();
  const clientIds = await client.smembers(ctx.keys.queues);
  const queues = new Map<string, StoredQueueState>();
  for (let i = 0; i < clientIds.length; i += LOAD_PAGE) {
    const page = clientIds.slice(i, i + LOAD_PAGE);
    const states = await readStates(ctx, page);
    states.forEach((state, j) => {
      if (state.queuedCount > 0 || state.inflight.length > 0) queues.set(page[j], state);
    });
  }
  const messages = await readMessages(ctx, inflightIds([...queues.values()]));
  const stored = Number((await client.hget(ctx.keys.meta, 'lastId')) ?? 0);
  ctx.ids.saw(stored);
  return { queues, messages, lastMessageId: ctx.ids.last };
}

/** The queue states of `clientIds`, in one round trip. */
async function readStates(ctx: RedisContext, clientIds: string[]): Promise<StoredQueueState[]> {
  const pipeline = ctx.conn().client.pipeline();
  for (const clientId of clientIds) {
    const k = ctx.keys.client(clientId);
    pipeline
      .zcard(k.queue)
      .zrange(k.queue, '-1', '-1', 'WITHSCORES')
      .hget(k.queueMeta, 'b')
      .hgetall(k.inflight);
  }
  const replies = (await pipeline.exec()) ?? [];
  const value = (index: number): unknown => {
    const [err, reply] = replies[index];
    if (err !== null) throw err;
    return reply;
  };
  return clientIds.map((_, i) => {
    const count = value(i * 4) as number;
    const last = value(i * 4 + 1) as string[];
    const bytes = value(i * 4 + 2) as string | null;
    return {
      inflight: toInflight(value(i * 4 + 3) as Record<string, string>),
      queuedCount: count,
      queuedBytes: count === 0 ? 0 : Number(bytes ?? 0),
      lastSeq: last.length === 2 ? Number(last[1]) : 0,
    };
  });
}

/** Inflight entries in send order. */
function toInflight(fields: Record<string, string>): StoredInflight[] {
  return Object.entries(fields)
    .map(([packetId, value]) => decodeInflight(Number(packetId), value))
    .sort((a, b) => a.ord - b.ord)
    .map((x) => x.entry);
}

function inflightIds(states: StoredQueueState[]): number[] {
  return states.flatMap((s) => s.inflight.map((f) => f.delivery.messageId));
}

/** The bodies of messages `ids` (those that exist), in one round trip. */
async function readMessages(ctx: RedisContext, ids: number[]): Promise<Map<number, StoredMessage>> {
  const distinct = [...new Set(ids)];
  const messages = new Map<number, StoredMessage>();
  if (distinct.length === 0) return messages;
  const pipeline = ctx.conn().client.pipeline();
  for (const id of distinct) pipeline.hgetBuffer(ctx.keys.message(id), 'b');
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([err, body], i) => {
    if (err !== null) throw err;
    if (body !== null) messages.set(distinct[i], decodeMessage(body as Buffer));
  });
  return messages;
}
