// The reading side of the QoS 0 transport measurement (README.md): a blocking XREAD loop as
// src/cluster/inbox.ts issues it (its own framed command, dist/cluster/read-frame.js), or a
// subscriber connection. Prints "ready", then on any stdin line the messages it received.
import { Redis } from 'ioredis';
import { StreamReadFrames } from '../../../dist/cluster/read-frame.js';

const [port, mode] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1', { protocol: 2 });
let received = 0;
process.stdin.on('data', () => console.log(String(received)));
if (mode === 'xread') {
  const reads = new StreamReadFrames('inbox:2', 512, 1000);
  let lastId = '$';
  await redis.ping();
  console.log('ready');
  for (;;) {
    const reply = await redis.sendCommand(reads.from(lastId));
    if (reply === null) continue;
    const entries = reply[0][1];
    received += entries.length;
    lastId = entries[entries.length - 1][0].toString();
  }
} else {
  redis.on('messageBuffer', () => received++);
  await redis.subscribe('ch:2');
  console.log('ready');
}
