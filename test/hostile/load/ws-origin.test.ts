/**
 * Hostile load on the WebSocket Origin check (issue #16 item 9) against the real `pipit
 * broker` (a child process): a web page of another origin, running in a browser on the
 * broker's machine, tries again and again to open an MQTT WebSocket to a default ws listener
 * and subscribe to everything. Every attempt must get HTTP 403 before any MQTT byte is
 * read; meanwhile the broker stays alive, its RSS stays bounded, a same-host page is still
 * served over ws, and a TCP client is served within a second during and after.
 *
 * Before the check, every such upgrade was accepted: the page got an MQTT session and could
 * read and publish every topic the listener allows anonymous clients.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { encode } from '../../../src/protocol/index.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker, sleep } from './harness.js';

/** What one upgrade attempt got: the HTTP status, or 101 when it was upgraded. */
function tryUpgrade(url: string, origin: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt', { origin, handshakeTimeout: 5000 });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', () => resolve(0));
  });
}

/** A same-host page: upgrades, sends CONNECT, resolves with the CONNACK's reason code. */
function connackOverWs(url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt', { origin, handshakeTimeout: 5000 });
    ws.once('open', () => {
      ws.send(
        encode(
          {
            type: 'connect',
            protocolName: 'MQTT',
            protocolVersion: 4,
            clean: true,
            keepAlive: 0,
            clientId: 'same-host-page',
          },
          4,
        ),
      );
    });
    ws.once('message', (data: Buffer) => {
      // CONNACK: 0x20 0x02 <flags> <return code>
      resolve(data[0] === 0x20 ? data[3]! : -1);
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('hostile load: WebSocket upgrades from pages of another origin', () => {
  let broker: LoadBroker | undefined;
  after(async () => broker?.stop());

  it('2,000 upgrades with a foreign Origin in 8 s: every one gets 403, none an MQTT session; a same-host page and TCP clients are served', async (t) => {
    const wsPort = await freePort();
    broker = await LoadBroker.start({
      config: ['listeners:', '  - type: mqtt', '  - type: ws', `    port: ${wsPort}`, ''].join(
        '\n',
      ),
    });
    const url = `ws://127.0.0.1:${wsPort}/mqtt`;
    const statuses = new Map<number, number>();
    const RSS_GROWTH_MIB = 115;
    for (let second = 0; second < 8; second++) {
      const started = performance.now();
      const batch: Promise<number>[] = [];
      for (let i = 0; i < 250; i++) {
        batch.push(tryUpgrade(url, i % 2 === 0 ? 'https://evil.example' : 'null'));
        if (i % 50 === 49) await sleep(5);
      }
      await assertServed(broker, `during-${second}`);
      for (const status of await Promise.all(batch)) {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      assertRssGrowthBelow(broker, RSS_GROWTH_MIB, `second ${second}`);
      await sleep(Math.max(0, 1000 - (performance.now() - started)));
    }
    assert.deepEqual([...statuses], [[403, 2000]], 'every foreign upgrade refused with 403');
    assert.equal(await connackOverWs(url, `http://127.0.0.1:${wsPort}`), 0);
    assert.ok(broker.alive);
    await assertServed(broker, 'after');
    assertRssGrowthBelow(broker, RSS_GROWTH_MIB, 'after the attack');
    assert.match(broker.proc.output, /"limit":"ws-origin"/);
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });
});
