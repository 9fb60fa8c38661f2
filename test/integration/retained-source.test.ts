/**
 * check_retain_source (checkRetainSource, default on): a retained message is served to a new
 * subscriber only while its publisher may still publish it. Configured as `pipit broker`
 * does it (password file, ACL file, reload as on SIGHUP), over real TCP with raw clients.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { QoS } from '../../src/protocol/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

const GRANTED = 'user alice\ntopic readwrite status/#\nuser bob\ntopic read status/#\n';
const REVOKED = 'user alice\ntopic readwrite other/#\nuser bob\ntopic read status/#\n';
const CONFIG = (check: boolean) => `
auth:
  passwordFile: users.txt
  aclFile: rules.acl
  checkRetainSource: ${check}
`;

describe('retained messages and their publisher rights', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker | undefined;
  let n = 0;

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'a-pw', bob: 'b-pw' }));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  after(() => tmp.remove());

  async function start(check = true): Promise<ConfiguredBroker> {
    await tmp.write('rules.acl', GRANTED);
    server = await startConfigured(CONFIG(check), tmp.dir);
    return server;
  }

  async function login(broker: ConfiguredBroker, username: string): Promise<RawClient> {
    const port = Number(new URL(broker.urls[0]).port);
    const client = await RawClient.open(port, 5);
    client.write(
      connectBytes(5, `${username}-${++n}`, {
        username,
        password: Buffer.from(username === 'alice' ? 'a-pw' : 'b-pw'),
      }),
    );
    assert.equal((await client.next('connack')).reasonCode, 0);
    return client;
  }

  /** bob subscribes to status/# and returns the topics of what arrives before a marker. */
  async function retainedSeenByBob(broker: ConfiguredBroker): Promise<string[]> {
    const bob = await login(broker, 'bob');
    bob.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: 'status/#',
          qos: 1 as QoS,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    await bob.next('suback');
    // Retained messages are sent right after the SUBACK; a live marker published now comes
    // after them on the same connection.
    await broker.broker.publish({ topic: 'status/marker', payload: 'm' });
    const topics: string[] = [];
    for (;;) {
      const publish = await bob.next('publish');
      if (publish.topic === 'status/marker') break;
      topics.push(publish.topic);
    }
    bob.destroy();
    return topics;
  }

  async function aliceRetains(broker: ConfiguredBroker, topic: string): Promise<void> {
    const alice = await login(broker, 'alice');
    alice.send({
      type: 'publish',
      topic,
      payload: Buffer.from('open'),
      qos: 1,
      packetId: 1,
      retain: true,
      dup: false,
    });
    await alice.next('puback');
    alice.destroy();
  }

  it('served while the publisher may publish it; not once the right is revoked; again when it is back', async () => {
    const broker = await start();
    await aliceRetains(broker, 'status/door');
    await broker.broker.publish({ topic: 'status/host', payload: 'up', retain: true });
    assert.deepEqual((await retainedSeenByBob(broker)).sort(), ['status/door', 'status/host']);

    await tmp.write('rules.acl', REVOKED);
    await broker.security.reload();
    assert.deepEqual(
      await retainedSeenByBob(broker),
      ['status/host'],
      'the host message has no publisher to check',
    );
    assert.equal(broker.broker.core.metrics.dropped['retained-source'], 1);
    assert.equal(broker.broker.core.metrics.refused['retained-source'], 1);
    assert.equal(
      (await broker.broker.admin.counters()).retainedMessages,
      2,
      'still retained, only not served',
    );

    await tmp.write('rules.acl', GRANTED);
    await broker.security.reload();
    assert.deepEqual((await retainedSeenByBob(broker)).sort(), ['status/door', 'status/host']);
  });

  it('auth.checkRetainSource: false serves it whatever the publisher may do now', async () => {
    const broker = await start(false);
    await aliceRetains(broker, 'status/window');
    await tmp.write('rules.acl', REVOKED);
    await broker.security.reload();
    assert.deepEqual(await retainedSeenByBob(broker), ['status/window']);
    assert.equal(broker.broker.core.metrics.dropped['retained-source'], 0);
  });
});
