/**
 * The verdict a `pipit broker --cluster` node records with its clients' wills, followed by
 * the survivor that sends them when the node dies (issue #11). Both nodes are children with
 * the same configuration: an ACL file on their listeners. On one host their listeners have
 * different default names (`mqtt:<port>`), so the survivor has no rule for the dead node's
 * clients: its listener policy defers them, and the dead node's verdict decides. A will the
 * dead node's ACL allows is sent; one it denies is not (a will is accepted at CONNECT and
 * authorized when it is sent, as on one node); a copy without a verdict (an older node's) is
 * not sent, and the survivor logs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting } from './cluster-nodes.js';
import { joinedNodeId } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: a survivor follows the verdict the dead node recorded with each will', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: CliNode;

  before(async () => {
    redis = await RedisFixture.start();
    const dir = mkdtempSync(join(tmpdir(), 'pipit-wv-'));
    const acl = join(dir, 'rules.acl');
    // Anonymous clients may write under vw/ and only read under secret/.
    writeFileSync(acl, 'topic readwrite vw/#\ntopic read secret/#\n');
    const file = join(dir, 'pipit.yaml');
    writeFileSync(
      file,
      [
        'cluster:',
        `  url: ${redis.url}`,
        '  leaseMs: 1000',
        '  heartbeatMs: 100',
        'auth:',
        '  allowAnonymous: true',
        `  aclFile: ${acl}`,
        '',
      ].join('\n'),
    );
    doomed = await startCliNode(undefined, ['-c', file]);
    survivor = await startCliNode(undefined, ['-c', file]);
  });

  after(async () => {
    await killNode(doomed);
    await killNode(survivor);
    await redis.stop();
  });

  it('[MQTT-3.1.2-8] sends the will its node allowed, not the one its ACL denied nor a copy without a verdict', async () => {
    const r = redis.redis;
    const doomedId = joinedNodeId(doomed);
    const survivorId = joinedNodeId(survivor);
    const watcher = await connectCollecting(survivor.url, { protocolVersion: 5 });
    await watcher.client.subscribeAsync(['vw/#', 'secret/#'], { qos: 1 });
    const clients: MqttClient[] = [];
    for (const [clientId, topic] of [
      ['vw-allowed', 'vw/allowed'],
      ['vw-denied', 'secret/denied'],
      ['vw-old', 'vw/old'],
    ] as const) {
      const client = await connectClient(doomed.url, {
        protocolVersion: 5,
        clientId,
        reconnectPeriod: 0,
        will: { topic, payload: Buffer.from(clientId), qos: 1, retain: false },
      });
      client.on('error', () => {});
      clients.push(client);
    }
    const wills = `pipit:wills:${doomedId}`;
    await waitFor(async () => (await r.hlen(wills)) === 3, 5000, 'the three wills copied');
    const copy = async (clientId: string) =>
      deserialize((await r.hgetBuffer(wills, clientId))!) as Record<string, unknown>;
    // The dead node's ACL decided at CONNECT, as each client under its listener.
    assert.equal((await copy('vw-allowed')).verdict, 'allow');
    assert.equal((await copy('vw-denied')).verdict, 'deny');
    // A copy as a node without verdicts wrote it.
    const { verdict: _verdict, ...old } = await copy('vw-old');
    await r.hset(wills, 'vw-old', serialize(old));

    await killNode(doomed);
    for (const client of clients) await endClient(client, true);
    await waitFor(
      () => watcher.messages.some((m) => m.topic === 'vw/allowed'),
      15_000,
      `the allowed will; the survivor logged:\n${survivor.output()}`,
    );
    // Every will taken from the dead node was sent or refused: no record is left.
    await waitFor(
      async () =>
        (await r.exists(wills)) === 0 && (await r.hlen(`pipit:orphan-wills:${survivorId}`)) === 0,
      10_000,
      'the wills settled',
    );
    // What the survivor routed before reaches the watcher before a later message.
    const marker = await connectClient(survivor.url, { protocolVersion: 5 });
    await marker.publishAsync('vw/marker', 'after', { qos: 1 });
    await waitFor(() => watcher.messages.some((m) => m.topic === 'vw/marker'), 5000, 'marker');
    assert.deepEqual(
      watcher.messages.map((m) => [m.topic, m.payload]),
      [
        ['vw/allowed', 'vw-allowed'],
        ['vw/marker', 'after'],
      ],
    );
    // The child's log lines reach this process in their own time: wait for the last one.
    const verdictLine = /"clientIds":\["vw-old"\][^\n]*without its verdict/;
    await waitFor(() => verdictLine.test(survivor.output()), 5000, 'the verdict log line');
    const output = survivor.output();
    assert.match(output, verdictLine);
    assert.match(output, /publish denied/);
    await endClient(marker);
    await endClient(watcher.client);
  });
});
