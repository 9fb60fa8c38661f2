/**
 * Local kill -9 while bridging: `pipit broker` in a child process with SQLite, its bridge's
 * session, queue and inflight messages in the store. Whatever a local publisher got a PUBACK
 * for reaches the remote after the restart: queued while the remote was down, or in flight
 * to it when the process died.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Broker, createBroker } from '../../src/index.js';
import { connectClient, endClient } from '../helpers/broker.js';
import { LoadBroker } from '../hostile/load/harness.js';
import { connectWithInbox, freePort, Inbox, tempDir, waitUntil } from './remotes.js';

function config(remotePort: number): string {
  return [
    'bridges:',
    '  - name: crash',
    `    addresses: ["127.0.0.1:${remotePort}"]`,
    '    protocol: mqttv50',
    '    clientId: crash-bridge',
    '    reconnectDelay: 0.05',
    '    maxReconnectDelay: 0.3',
    '    topics:',
    '      - { pattern: "up/#", direction: out, qos: 1, localPrefix: "edge/", remotePrefix: "site1/" }',
    '      - { pattern: "down/#", direction: in, qos: 1, localPrefix: "edge/", remotePrefix: "site1/" }',
    '',
  ].join('\n');
}

/** The remote: Pipit with SQLite, so its subscriber's session survives the remote's restarts. */
async function startRemote(port: number, dataDir: string): Promise<Broker> {
  const remote = createBroker({ persistence: { kind: 'sqlite', dataDir } });
  await remote.listen({ port, host: '127.0.0.1' });
  return remote;
}

/** A persistent subscriber of the remote (MQTT 5, session kept for an hour). */
const SINK = {
  clientId: 'crash-sink',
  protocolVersion: 5,
  clean: false,
  properties: { sessionExpiryInterval: 3600 },
} as const;

function sink(port: number): Promise<MqttClient> {
  return connectClient(`mqtt://127.0.0.1:${port}`, SINK);
}

/** Waits until every payload of `expected` arrived at the remote subscriber. */
async function waitAll(inbox: Inbox, expected: readonly string[]): Promise<void> {
  await waitUntil(
    () => expected.every((p) => inbox.distinct('site1/up/').has(p)),
    20_000,
    () => {
      const got = inbox.distinct('site1/up/');
      const missing = expected.filter((p) => !got.has(p));
      return `${missing.length} of ${expected.length} missing: ${missing.slice(0, 20).join(',')}`;
    },
  );
}

describe('bridge: local kill -9', () => {
  const brokers: LoadBroker[] = [];
  after(async () => {
    for (const b of brokers) await b.stop();
  });

  it('loses nothing acked that was queued while the remote was down', async () => {
    const remotePort = await freePort();
    const remoteDir = tempDir('pipit-bridge-remote-');
    let remote = await startRemote(remotePort, remoteDir);
    const first = await sink(remotePort);
    await first.subscribeAsync('site1/up/#', { qos: 1 });
    await endClient(first);
    await remote.close();

    const local = await LoadBroker.start({ sqlite: true, config: config(remotePort) });
    brokers.push(local);
    const pub = await connectClient(`mqtt://127.0.0.1:${local.port}`, { clientId: 'crash-pub' });
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      await pub.publishAsync(`edge/up/${i % 5}`, `q${i}`, { qos: 1 });
      sent.push(`q${i}`);
    }
    await endClient(pub, true);
    await local.crashAndRestart();

    remote = await startRemote(remotePort, remoteDir);
    const { client: again, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${remotePort}`, SINK);
    try {
      await waitAll(inbox, sent);
    } finally {
      await endClient(again, true);
      await remote.close();
    }
  });

  it('loses nothing acked that was in flight to the remote when the process died', async () => {
    const remotePort = await freePort();
    const remote = await startRemote(remotePort, tempDir('pipit-bridge-remote-'));
    const receiver = await sink(remotePort);
    await receiver.subscribeAsync('site1/up/#', { qos: 1 });
    const inbox = new Inbox(receiver);
    const local = await LoadBroker.start({ sqlite: true, config: config(remotePort) });
    brokers.push(local);
    try {
      const pub = await connectClient(`mqtt://127.0.0.1:${local.port}`, {
        clientId: 'crash-pub-2',
      });
      const acked: string[] = [];
      for (let i = 0; i < 100; i++) {
        await pub.publishAsync(`edge/up/${i % 5}`, `f${i}`, { qos: 1 });
        acked.push(`f${i}`);
      }
      // More in flight, then the crash: only those acknowledged before it count.
      for (let i = 100; i < 300; i++) {
        pub.publishAsync(`edge/up/${i % 5}`, `f${i}`, { qos: 1 }).then(
          () => acked.push(`f${i}`),
          () => {},
        );
      }
      await waitUntil(
        () => acked.length >= 150,
        10_000,
        () => `${acked.length} acked`,
      );
      await local.proc.kill();
      const ackedAtCrash = [...acked];
      await endClient(pub, true);
      await local.crashAndRestart();
      await waitAll(inbox, ackedAtCrash);
      assert.ok(ackedAtCrash.length >= 150);
    } finally {
      await endClient(receiver, true);
      await remote.close();
    }
  });

  it('loses no incoming message: the remote gets its PUBACK only once the message is stored here', async () => {
    const remotePort = await freePort();
    const remote = await startRemote(remotePort, tempDir('pipit-bridge-remote-'));
    const local = await LoadBroker.start({ sqlite: true, config: config(remotePort) });
    brokers.push(local);
    const localUrl = `mqtt://127.0.0.1:${local.port}`;
    const reader = {
      clientId: 'crash-reader',
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    try {
      const first = await connectClient(localUrl, reader);
      await first.subscribeAsync('edge/down/#', { qos: 1 });
      await endClient(first);
      const pub = await connectClient(`mqtt://127.0.0.1:${remotePort}`, { clientId: 'down-pub' });
      const sent: string[] = [];
      for (let i = 0; i < 200; i++) {
        if (i === 100) await local.proc.kill();
        await pub.publishAsync(`site1/down/${i % 3}`, `d${i}`, { qos: 1 });
        sent.push(`d${i}`);
      }
      await endClient(pub, true);
      await local.crashAndRestart();
      const { client: again, inbox } = await connectWithInbox(localUrl, reader);
      try {
        await waitUntil(
          () => sent.every((p) => inbox.distinct('edge/down/').has(p)),
          20_000,
          () => `${sent.filter((p) => !inbox.distinct('edge/down/').has(p)).length} missing`,
        );
      } finally {
        await endClient(again, true);
      }
    } finally {
      await remote.close();
    }
  });
});
