/**
 * The verdict a cluster node records on a connected client's will, and how a node that sends
 * the will in its place follows it (core will-verdict.ts, message-pipeline.ts; issue #11).
 * On a fake clock, with the built-in listener policy as the chain's last word: a listener
 * this core does not have is deferred by it, so the recorded verdict decides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  BrokerCore,
  ClientInfo,
  Hook,
  PublishRequest,
  WillVerdict,
} from '../../src/core/index.js';
import { listenerPolicyHook, sysReadOnlyHook } from '../../src/hooks/index.js';
import type { PublishPacket, Will } from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

/** The chain of a `pipit broker` node whose one listener, `test`, has no ACL file. */
function withListenerPolicy(core: BrokerCore, ...custom: Hook[]): void {
  core.addHook(sysReadOnlyHook());
  for (const hook of custom) core.addHook(hook);
  core.addHook(
    listenerPolicyHook(
      new Map([
        [
          'test',
          {
            allowAnonymous: true,
            hasPasswordFile: false,
            hasAcl: false,
            identityAsUsername: false,
          },
        ],
      ]),
    ),
  );
}

/** A client of this core that got its CONNACK (the listener policy answers asynchronously). */
async function connected(core: BrokerCore, clientId: string, willOf?: Will): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, ...(willOf === undefined ? {} : { will: willOf }) });
  await flush();
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
  return client;
}

/** A connected client of this core subscribed to `will/#`. */
async function watcher(core: BrokerCore): Promise<FakeClient> {
  const client = await connected(core, 'watcher');
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: 'will/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0 },
    ],
  });
  await flush();
  client.take();
  return client;
}

function topics(client: FakeClient): string[] {
  return client
    .take()
    .filter((p): p is PublishPacket => p.type === 'publish')
    .map((p) => p.topic);
}

/** A client of another node: its listener is that node's, unknown here. */
const elsewhere: ClientInfo = {
  clientId: 'gone',
  username: undefined,
  usernameVerified: false,
  protocolVersion: 5,
  remoteAddress: undefined,
  listener: 'mqtt:1884',
  certificateIdentity: undefined,
};

function will(topic: string, retain = false): Will {
  return { topic, payload: Buffer.from('gone'), qos: 1, retain };
}

/** A hook that denies `will/blocked` to every client and counts what it was asked. */
function blocking(asked: string[]): Hook {
  return {
    name: 'blocking',
    authorizePublish(client: ClientInfo, publish: PublishRequest) {
      asked.push(`${client.clientId} ${publish.topic}`);
      return publish.topic === 'will/blocked' ? 'deny' : 'defer';
    },
  };
}

describe('core: the verdict recorded with a will', () => {
  it('on one node no hook is asked about the will at CONNECT: it is authorized when sent, as before', async () => {
    const { core } = createTestCore();
    const asked: string[] = [];
    withListenerPolicy(core, blocking(asked));
    const w = await watcher(core);
    const client = await connected(core, 'c', will('will/blocked'));
    assert.equal(client.connection.willVerdict, undefined);
    assert.deepEqual(asked, []);
    client.connection.transportClosed();
    await flush();
    assert.deepEqual(asked, ['c will/blocked']);
    assert.deepEqual(topics(w), []);
  });

  it('a cluster node takes its hooks’ verdict at CONNECT, as the client under its own listener', async () => {
    const { core } = createTestCore();
    core.recordWillVerdicts = true;
    const asked: string[] = [];
    withListenerPolicy(core, blocking(asked), {
      name: 'slow',
      authorizePublish: (_client, publish) =>
        Promise.resolve(publish.topic === 'will/slow' ? 'allow' : 'defer'),
    });
    const allowed = await connected(core, 'a', will('will/slow'));
    assert.equal(allowed.connection.willVerdict, 'allow');
    const denied = await connected(core, 'b', will('will/blocked'));
    assert.equal(denied.connection.willVerdict, 'deny');
    const sys = await connected(core, 's', will('$SYS/x'));
    assert.equal(sys.connection.willVerdict, 'deny');
    const open = await connected(core, 'o', will('will/open'));
    assert.equal(open.connection.willVerdict, 'allow');
    assert.deepEqual(asked, ['a will/slow', 'b will/blocked', 'o will/open']);
  });

  it('[MQTT-3.1.2-8] a will under a listener this node does not have is sent on its node’s "allow", and not on "deny" or without a verdict', async () => {
    const { core, clock } = createTestCore();
    withListenerPolicy(core);
    const w = await watcher(core);
    const cases: [string, WillVerdict | undefined][] = [
      ['will/allowed', 'allow'],
      ['will/denied', 'deny'],
      ['will/unjudged', undefined],
    ];
    for (const [topic, verdict] of cases) {
      core.wills.scheduleAt({ ...elsewhere, clientId: topic }, will(topic), clock.now(), verdict);
    }
    await flush();
    assert.deepEqual(topics(w), ['will/allowed']);
    assert.equal(core.metrics.refused['publish-denied'], 2);
  });

  it('this node’s own rules decide when one of them answers: a deny beats the recorded "allow", an allow for a listener it has beats "deny"', async () => {
    const { core, clock } = createTestCore();
    withListenerPolicy(core, blocking([]));
    const w = await watcher(core);
    core.wills.scheduleAt(elsewhere, will('will/blocked'), clock.now(), 'allow');
    core.wills.scheduleAt(elsewhere, will('$SYS/broker/x'), clock.now(), 'allow');
    // A listener of the client's name here (no ACL): this node's policy allows.
    core.wills.scheduleAt(
      { ...elsewhere, listener: 'test' },
      will('will/own'),
      clock.now(),
      'deny',
    );
    await flush();
    assert.deepEqual(topics(w), ['will/own']);
  });

  it('a delayed will keeps its verdict until it is due, and a retained will sent on it holds no publisher', async () => {
    const { core, clock } = createTestCore({ checkRetainSource: true });
    withListenerPolicy(core);
    core.wills.scheduleAt(elsewhere, will('will/retained', true), clock.now() + 5_000, 'allow');
    clock.advance(5_000);
    await flush();
    const retained = core.retained.match('will/retained', clock.now());
    assert.equal(retained.length, 1);
    assert.equal(retained[0]!.publisher, undefined);
    // A subscriber here gets it: checkRetainSource has no publisher to put to the rules.
    const late = await connected(core, 'late');
    late.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: 'will/retained',
          qos: 1,
          noLocal: false,
          retainAsPublished: true,
          retainHandling: 0,
        },
      ],
    });
    await flush();
    assert.deepEqual(topics(late), ['will/retained']);
  });
});
