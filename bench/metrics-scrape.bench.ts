// What one scrape of /metrics costs the broker: CPU time of `registry.metrics()` (the text
// /metrics answers) over a broker core holding N connected clients, each with a session and
// a subscription. A scrape walks the connections once (pipit_connections by listener and
// version) and reads every counter; the publish path does not take part. Figures are
// printed, never asserted.
//
// Run: node --import tsx bench/metrics-scrape.bench.ts [connections...]   (default 0 1000 10000)
import { BrokerCore } from '../src/core/index.js';
import { createBrokerMetrics } from '../src/metrics/index.js';
import { encode } from '../src/protocol/index.js';

/** A transport that takes every byte at once. */
class NullSink {
  bufferedBytes = 0;
  write(): void {}
  pause(): void {}
  resume(): void {}
  notifyWhenDrained(drained: () => void): void {
    setImmediate(drained);
  }
  end(): void {}
}

function connectClients(core: BrokerCore, count: number): void {
  for (let i = 0; i < count; i++) {
    const conn = core.openConnection(new NullSink(), {
      listener: i % 2 ? 'tcp' : 'ws',
      remoteAddress: '127.0.0.1',
    });
    const version = i % 3 === 0 ? 5 : 4;
    conn.receive(
      encode(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: version,
          clean: true,
          keepAlive: 0,
          clientId: `c${i}`,
        },
        version,
      ),
    );
    conn.receive(
      encode(
        {
          type: 'subscribe',
          packetId: 1,
          subscriptions: [
            {
              filter: `d/${i}/#`,
              qos: 1,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 0,
            },
          ],
        },
        version,
      ),
    );
  }
}

async function measure(connections: number): Promise<void> {
  const core = new BrokerCore({ options: { maxConnections: 1_000_000 } });
  connectClients(core, connections);
  await new Promise((r) => setImmediate(r));
  const { registry } = createBrokerMetrics({ core, listenerNames: () => ['tcp', 'ws'] });
  for (let i = 0; i < 20; i++) await registry.metrics(); // warm up
  const scrapes = 200;
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) bytes = (await registry.metrics()).length;
  const cpu = process.cpuUsage(cpu0);
  const msPerScrape = (cpu.user + cpu.system) / 1000 / scrapes;
  const connected = [...core.connections].filter((c) => c.state === 'connected').length;
  console.log(
    `${connected} clients connected: ${msPerScrape.toFixed(3)} ms CPU per scrape ` +
      `(${bytes} bytes); at one scrape per second ${(msPerScrape / 10).toFixed(3)}% of a core`,
  );
  core.close();
}

const counts = process.argv.slice(2).map(Number);
for (const n of counts.length ? counts : [0, 1000, 10000]) await measure(n);
