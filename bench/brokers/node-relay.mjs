/**
 * The floor under any Node broker as a "broker" the comparison can run (issue #17;
 * bench/harness/brokers.ts `node-relay`): it answers just enough MQTT for mqtt-load's fanin
 * mode (CONNACK, SUBACK, PINGRESP, PUBACK at QoS 1; 3.1.1 and 5.0) and relays each PUBLISH's
 * bytes unchanged to the subscriber, with no routing, session or hook. Its I/O is Pipit's:
 * each socket read into one shared buffer (Pipit's shared-read-buffer.ts, from dist/; `--data`
 * reads through 'data' events instead), what a read produced held until every ready socket was
 * read (one setImmediate for all sockets), then one write per socket. So its CPU per message
 * is what Node costs a broker per message at that rate: what Pipit pays above it is Pipit's.
 *
 *   node bench/brokers/node-relay.mjs --port 1883 [--host 127.0.0.1] [--data]
 *
 * Not an MQTT broker: one subscriber (the last client to SUBSCRIBE) gets every PUBLISH, with
 * the publisher's packet id; its PUBACKs are read and dropped. Run `npm run build` first.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { readIntoSharedBuffer } from '../../dist/transport/shared-read-buffer.js';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '1883' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'boolean', default: false },
  },
});

/** A connected client: its unread bytes, its version, its pending output. */
class Client {
  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    /** @type {Buffer | undefined} the start of a packet not yet whole */
    this.rest = undefined;
    this.version = 4;
    /** @type {Buffer | Buffer[] | undefined} as Pipit's SocketSink: a lone chunk without an array */
    this.pending = undefined;
    this.pendingBytes = 0;
  }
}

/** @type {Client | undefined} */
let subscriber;
/**
 * Clients with pending output (the first `dirtyCount`), written once per turn; emptied by
 * count as Pipit's SocketSink does (an array emptied to length 0 loses its backing store).
 * @type {(Client | undefined)[]}
 */
const dirty = [];
let dirtyCount = 0;
let flushScheduled = false;

function flushAll() {
  flushScheduled = false;
  for (let i = 0; i < dirtyCount; i++) {
    const c = dirty[i];
    dirty[i] = undefined;
    const p = c.pending;
    const out = Array.isArray(p) ? Buffer.concat(p, c.pendingBytes) : p;
    c.pending = undefined;
    c.pendingBytes = 0;
    if (!c.socket.destroyed) c.socket.write(out);
  }
  dirtyCount = 0;
}

/** Queues `bytes` for `c`'s next write. */
function send(c, bytes) {
  if (c.pendingBytes === 0) {
    dirty[dirtyCount++] = c;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  }
  const p = c.pending;
  if (p === undefined) c.pending = bytes;
  else if (Array.isArray(p)) p.push(bytes);
  else c.pending = [p, bytes];
  c.pendingBytes += bytes.length;
}

/** A small packet of `bytes` (from Node's pool, as Pipit's come from its slab). */
function packet(...bytes) {
  const b = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) b[i] = bytes[i];
  return b;
}

/** Length of the packet at `at` in `buf[0..end)` (header included), or 0 if not all there. */
function packetLength(buf, at, end) {
  let len = 0;
  let shift = 0;
  for (let i = at + 1; i < end && i < at + 5; i++) {
    const b = buf[i];
    len += (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      const total = i + 1 - at + len;
      return at + total <= end ? total : 0;
    }
  }
  return 0;
}

/** One whole packet of `c` at `buf[at..at+len)`; `body` is where its variable header starts. */
function handle(c, buf, at, len, body) {
  const type = buf[at] >> 4;
  switch (type) {
    case 1: // CONNECT: protocol name (2 + 4 bytes), then the level
      c.version = buf[body + 6];
      send(c, c.version === 5 ? packet(0x20, 3, 0, 0, 0) : packet(0x20, 2, 0, 0));
      return;
    case 3: {
      // PUBLISH: relayed as it is; QoS 1 acknowledged to its publisher
      if (subscriber) send(subscriber, Buffer.from(buf.subarray(at, at + len)));
      if ((buf[at] & 0x06) === 0x02) {
        const id = body + 2 + ((buf[body] << 8) | buf[body + 1]);
        send(c, packet(0x40, 2, buf[id], buf[id + 1]));
      }
      return;
    }
    case 8: {
      // SUBSCRIBE: granted the QoS it asks (the last byte: its options)
      subscriber = c;
      const qos = buf[at + len - 1] & 3;
      const [hi, lo] = [buf[body], buf[body + 1]];
      send(c, c.version === 5 ? packet(0x90, 4, hi, lo, 0, qos) : packet(0x90, 3, hi, lo, qos));
      return;
    }
    case 12: // PINGREQ
      send(c, packet(0xd0, 0));
      return;
    case 14: // DISCONNECT
      c.socket.end();
      return;
    default: // PUBACK from the subscriber, and anything else: dropped
  }
}

/** `bytes` new bytes of `c` in `chunk` (a reused buffer: what is kept is copied). */
function receive(c, chunk, bytes) {
  let buf = chunk;
  let end = bytes;
  if (c.rest !== undefined) {
    buf = Buffer.concat([c.rest, chunk.subarray(0, bytes)]);
    end = buf.length;
    c.rest = undefined;
  }
  let at = 0;
  for (;;) {
    const len = packetLength(buf, at, end);
    if (len === 0) break;
    let body = at + 2;
    while (buf[body - 1] & 0x80) body++;
    handle(c, buf, at, len, body);
    at += len;
  }
  if (at < end) c.rest = Buffer.from(buf.subarray(at, end));
}

function onSharedRead(bytes, buffer) {
  receive(this.client, buffer, bytes);
}

function onData(chunk) {
  receive(this.client, chunk, chunk.length);
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.client = new Client(socket);
  if (args.data || !readIntoSharedBuffer(socket, onSharedRead)) socket.on('data', onData);
  socket.on('error', () => {});
  socket.on('close', () => {
    if (subscriber === socket.client) subscriber = undefined;
  });
});
server.listen(Number(args.port), args.host);
process.on('SIGTERM', () => process.exit(0));
