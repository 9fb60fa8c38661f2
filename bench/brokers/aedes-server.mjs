#!/usr/bin/env node
// Starts Aedes (in-memory, defaults) for the broker comparison:
//   node bench/brokers/aedes-server.mjs --port 18830 [--host 127.0.0.1]
//        [--transport tcp|tls|ws|wss] [--cert server.crt --key server.key]
// tls and wss need --cert and --key; ws and wss serve MQTT over WebSocket on any path,
// through the `ws` package's stream, as Aedes' own documentation shows.
// Prints a line containing "listening" when ready; exits on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    transport: { type: 'string', default: 'tcp' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});
const port = Number(values.port);
const transport = values.transport;
const secure = transport === 'tls' || transport === 'wss';
if (
  !Number.isInteger(port) ||
  port <= 0 ||
  !['tcp', 'tls', 'ws', 'wss'].includes(transport) ||
  (secure && !(values.cert && values.key))
) {
  console.error(
    'usage: aedes-server.mjs --port <port> [--host <host>] [--transport tcp|tls|ws|wss] ' +
      '[--cert <file> --key <file> (tls, wss)]',
  );
  process.exit(2);
}

const aedes = await Aedes.createBroker();
const credentials = secure
  ? { cert: readFileSync(values.cert), key: readFileSync(values.key) }
  : undefined;
// noDelay: no Nagle delay on small packets, as Pipit and Mosquitto (set_tcp_nodelay) run.
const server = createServer();
server.listen(port, values.host, () => {
  console.log(`aedes ${process.pid} listening on ${values.host}:${port} (${transport})`);
});

function createServer() {
  if (transport === 'tcp') return net.createServer({ noDelay: true }, aedes.handle);
  if (transport === 'tls') return tls.createServer({ ...credentials, noDelay: true }, aedes.handle);
  const web =
    transport === 'wss'
      ? https.createServer({ ...credentials, noDelay: true })
      : http.createServer({ noDelay: true });
  const wss = new WebSocketServer({ server: web, perMessageDeflate: false });
  wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req));
  return web;
}

function stop() {
  setTimeout(() => process.exit(0), 1000).unref();
  server.close();
  aedes.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
