#!/usr/bin/env node
// Starts Aedes (in-memory, defaults) on a TCP port for the broker comparison:
//   node bench/brokers/aedes-server.mjs --port 18830 [--host 127.0.0.1]
// Prints a line containing "listening" when ready; exits on SIGTERM/SIGINT.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: aedes-server.mjs --port <port> [--host <host>]');
  process.exit(2);
}

const aedes = await Aedes.createBroker();
// noDelay: no Nagle delay on small packets, as Pipit and Mosquitto (set_tcp_nodelay) run.
const server = net.createServer({ noDelay: true }, aedes.handle);
server.listen(port, values.host, () => {
  console.log(`aedes ${process.pid} listening on ${values.host}:${port}`);
});

function stop() {
  setTimeout(() => process.exit(0), 1000).unref();
  server.close();
  aedes.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
