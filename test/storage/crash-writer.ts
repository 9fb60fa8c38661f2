/**
 * Child process for the kill -9 test: opens the SQLite store in argv[2] ('fsync' mode),
 * and runs `CLIENTS` concurrent loops that each store a message, queue it (numbered above
 * the client's last stored seq, as a session's owner does) and await commit(); only then
 * does a loop print "clientId seq messageId" (the acknowledgement).
 * It runs until killed, or for at most 30 s.
 */
import { SqliteStore } from '../../src/storage/index.js';

const CLIENTS = 8;
const dataDir = process.argv[2];
const store = new SqliteStore({ dataDir, durability: 'fsync' });
await store.open();
const state = await store.load();
let nextId = state.lastMessageId;
const deadline = Date.now() + 30_000;

async function client(clientId: string): Promise<void> {
  store.putSession(clientId, 3600, undefined);
  let seq = state.sessions.find((s) => s.clientId === clientId)?.lastSeq ?? 0;
  while (Date.now() < deadline) {
    const id = ++nextId;
    store.putMessage({
      id,
      topic: `crash/${clientId}`,
      payload: Buffer.from(`m${id}`),
      qos: 1,
      retain: false,
    });
    store.enqueue(clientId, ++seq, { messageId: id, qos: 1, retain: false });
    await store.commit();
    process.stdout.write(`${clientId} ${seq} ${id}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(`c${i}`)));
await store.close();
