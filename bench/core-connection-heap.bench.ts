// Heap bytes per connected idle client in the core alone (CONNECT and CONNACK over a sink that
// drops what it is given: no socket, no transport), so that a change to the Connection or the
// Session can be compared before/after without the noise of RSS and sockets. Printed, never
// asserted. bench/connections.bench.ts measures the whole broker over TCP.
//
// Run: node --expose-gc --import tsx bench/core-connection-heap.bench.ts [keepAliveSeconds]
import { BrokerCore } from '../src/core/index.js';
import { encode } from '../src/protocol/index.js';

const KEEP_ALIVE = Number(process.argv[2] ?? 0);
const WARM = 2000;
const MEASURED = 20000;

const sink = {
  bufferedBytes: 0,
  write(_data: Buffer): void {},
  pause(): void {},
  resume(): void {},
  notifyWhenDrained(_drained: () => void): void {},
  end(): void {},
};

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const core = new BrokerCore({ options: { connectTimeoutMs: 3_600_000 } });

function open(count: number, first: number): void {
  for (let i = first; i < first + count; i++) {
    const conn = core.openConnection(sink, { listener: 'tcp', remoteAddress: '127.0.0.1' });
    const connect = encode(
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepAlive: KEEP_ALIVE,
        clientId: `client-${i}`,
      },
      4,
    );
    conn.receive(connect);
  }
}

open(WARM, 0);
gc();
gc();
const before = process.memoryUsage().heapUsed;
open(MEASURED, WARM);
gc();
gc();
const perConnection = (process.memoryUsage().heapUsed - before) / MEASURED;
console.log(
  `keep alive ${KEEP_ALIVE} s: ${perConnection.toFixed(0)} B of heap per connected client ` +
    `(${core.connections.size} connections)`,
);
