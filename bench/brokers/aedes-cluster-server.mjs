#!/usr/bin/env node
// Starts one Aedes node of a cluster the way Aedes users build one: messages between nodes
// over Redis pub/sub (mqemitter-redis), sessions, subscriptions and retained messages in Redis
// (aedes-persistence-redis), both on the given Redis. For the cluster benchmark:
//   node bench/brokers/aedes-cluster-server.mjs --port 18830 --redis-port 6379 [--host 127.0.0.1]
// Prints a line containing "listening" when ready; exits on SIGTERM/SIGINT.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import persistence from 'aedes-persistence-redis';
import mqemitterRedis from 'mqemitter-redis';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'redis-port': { type: 'string' },
  },
});
const port = Number(values.port);
const redisPort = Number(values['redis-port']);
if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(redisPort) || redisPort <= 0) {
  console.error(
    'usage: aedes-cluster-server.mjs --port <port> --redis-port <port> [--host <host>]',
  );
  process.exit(2);
}

const redis = { host: '127.0.0.1', port: redisPort };
const aedes = await Aedes.createBroker({
  mq: mqemitterRedis(redis),
  persistence: persistence(redis),
});
// noDelay: no Nagle delay on small packets, as Pipit and Mosquitto (set_tcp_nodelay) run.
const server = net.createServer({ noDelay: true }, aedes.handle);
server.listen(port, values.host, () => {
  console.log(`aedes cluster node ${process.pid} listening on ${values.host}:${port}`);
});

function stop() {
  setTimeout(() => process.exit(0), 1000).unref();
  server.close();
  aedes.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
