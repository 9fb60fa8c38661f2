/**
 * MQTT 5 shared subscriptions and enhanced authentication / redirection over real TCP with
 * MQTT.js (protocolVersion 5).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Hook } from '../../src/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { connectClient, endClient, nextMessages, startBroker, waitFor } from '../helpers/broker.js';

const V5: IClientOptions = { protocolVersion: 5 };

/** Counts messages per client until `total` arrived across all of them. */
function countAcross(clients: MqttClient[], total: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const counts = clients.map(() => 0);
    const handlers = clients.map((_c, i) => () => {
      counts[i]!++;
      if (counts.reduce((a, b) => a + b, 0) === total) done();
    });
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out: ${counts.join(',')}`));
    }, 5000);
    const done = (): void => {
      clearTimeout(timer);
      clients.forEach((c, i) => {
        c.off('message', handlers[i]!);
      });
      resolve(counts);
    };
    clients.forEach((c, i) => {
      c.on('message', handlers[i]!);
    });
  });
}

describe('integration v5: shared subscriptions', () => {
  let tb: TestBroker;
  const open: MqttClient[] = [];
  const connect = async (options: IClientOptions = {}): Promise<MqttClient> => {
    const c = await connectClient(tb.url, { ...V5, ...options });
    open.push(c);
    return c;
  };

  before(async () => {
    tb = await startBroker();
  });
  after(async () => {
    await Promise.all(open.map((c) => endClient(c, true)));
    await tb.close();
  });

  it('§4.8.2 each message goes to exactly one member; two groups each get a copy', async () => {
    const a = [await connect(), await connect()];
    const b = [await connect(), await connect()];
    for (const m of a) await m.subscribeAsync('$share/A/sh/t', { qos: 1 });
    for (const m of b) await m.subscribeAsync('$share/B/sh/t', { qos: 1 });
    const countA = countAcross(a, 10);
    const countB = countAcross(b, 10);
    const pub = await connect();
    for (let i = 0; i < 10; i++) await pub.publishAsync('sh/t', String(i), { qos: 1 });
    const ca = await countA;
    const cb = await countB;
    assert.equal(ca[0]! + ca[1]!, 10);
    assert.equal(cb[0]! + cb[1]!, 10);
    assert.ok(ca.every((n) => n > 0) && cb.every((n) => n > 0), 'both members of each group used');
  });

  it('§4.8.2 unacknowledged QoS 1 messages of a member that leaves go to another member', async () => {
    const held: string[] = [];
    // This member never acknowledges: its PUBACKs are held back until it is gone.
    const leaving = await connect({
      customHandleAcks: (_topic, payload, _packet, _done) => {
        held.push(payload.toString());
      },
    });
    const staying = await connect();
    await leaving.subscribeAsync('$share/g/held/t', { qos: 1 });
    await staying.subscribeAsync('$share/g/held/t', { qos: 1 });
    const stayingGot: string[] = [];
    staying.on('message', (_t, p) => stayingGot.push(p.toString()));
    const pub = await connect();
    for (let i = 0; i < 6; i++) await pub.publishAsync('held/t', String(i), { qos: 1 });
    // Every publish was routed before its PUBACK; MQTT.js holds further PUBLISH of the leaving
    // member behind the one it has not acknowledged.
    await waitFor(() => held.length > 0, 5000, 'the leaving member got a message');
    assert.ok(stayingGot.length < 6, 'some messages went to the leaving member');
    await endClient(leaving, true);
    await waitFor(() => stayingGot.length === 6, 5000, 'redelivery to the staying member');
    assert.deepEqual([...stayingGot].sort(), ['0', '1', '2', '3', '4', '5']);
  });

  it('(spec 4.8.2, no numbered statement) a shared subscribe gets no retained message', async () => {
    const pub = await connect();
    await pub.publishAsync('shr/t', 'kept', { retain: true });
    const member = await connect();
    const plain = await connect();
    const memberGot: string[] = [];
    member.on('message', (_t, p) => memberGot.push(p.toString()));
    await member.subscribeAsync('$share/g/shr/t');
    const got = nextMessages(plain, 1);
    await plain.subscribeAsync('shr/t');
    assert.equal((await got)[0]!.payload.toString(), 'kept');
    // The plain subscriber's retained copy was sent after the member's SUBACK: had the member
    // been sent one, it would have arrived by now on a connection served in order.
    await member.subscribeAsync('marker');
    assert.deepEqual(memberGot, []);
    await pub.publishAsync('shr/t', '', { retain: true });
  });

  it('[MQTT-3.8.3-4] No Local on a shared subscription: DISCONNECT 0x82', async () => {
    const c = await connect();
    const disconnected = new Promise<number | undefined>((resolve) =>
      c.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    c.subscribe('$share/g/nl/t', { qos: 0, nl: true });
    assert.equal(await disconnected, 0x82);
  });
});

/** A challenge/response hook: method 'CHAL', answer 'answer'. */
const challengeHook: Hook = {
  name: 'challenge',
  authenticate(request) {
    if (request.authenticationMethod !== 'CHAL') return 'defer';
    const data = request.authenticationData?.toString();
    if (data === undefined || data === 'hello') {
      return { result: 'continue', authenticationData: Buffer.from('challenge') };
    }
    return data === 'answer' ? 'allow' : 'deny';
  },
};

function connectWithAuth(
  url: string,
  answer: string,
): Promise<{ client: MqttClient; code: number }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      ...V5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      properties: { authenticationMethod: 'CHAL' },
    });
    client.handleAuth = (packet, callback) => {
      assert.equal(packet.properties?.authenticationMethod, 'CHAL');
      callback(undefined, {
        cmd: 'auth',
        reasonCode: 0x18,
        properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from(answer) },
      });
    };
    client.once('connect', (connack) => resolve({ client, code: connack.reasonCode ?? 0 }));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ client, code: err.code ?? -1 });
    });
  });
}

describe('integration v5: enhanced authentication and redirection', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await tb?.close();
    tb = undefined;
  });

  it('[MQTT-4.12.0-2] challenge/response through a hook: AUTH 0x18 both ways, then CONNACK 0x00', async () => {
    tb = await startBroker();
    tb.broker.addHook(challengeHook);
    const { client, code } = await connectWithAuth(tb.url, 'answer');
    assert.equal(code, 0);
    await client.subscribeAsync('t'); // the session works
    await endClient(client);
  });

  it('[MQTT-4.12.0-4] a bad response is CONNACK 0x87', async () => {
    tb = await startBroker();
    tb.broker.addHook(challengeHook);
    const { code } = await connectWithAuth(tb.url, 'wrong');
    assert.equal(code, 0x87);
  });

  it('[MQTT-4.12.0-1] an authentication method the broker has no hook for is CONNACK 0x8C', async () => {
    tb = await startBroker();
    const { code } = await connectWithAuth(tb.url, 'answer');
    assert.equal(code, 0x8c);
  });

  for (const reasonCode of [0x9c, 0x9d]) {
    it(`§4.11 redirect: CONNACK 0x${reasonCode.toString(16)} with the Server Reference`, async () => {
      tb = await startBroker();
      tb.broker.addHook({
        authenticate: () => ({ result: 'redirect', serverReference: 'b.example:1883', reasonCode }),
      });
      const refused = await new Promise<{ code?: number; ref?: string }>((resolve) => {
        const c = mqtt.connect(tb!.url, { ...V5, reconnectPeriod: 0 });
        c.on('packetreceive', (packet) => {
          if (packet.cmd === 'connack') {
            resolve({ code: packet.reasonCode, ref: packet.properties?.serverReference });
            c.end(true);
          }
        });
        c.on('error', () => {});
      });
      assert.deepEqual(refused, { code: reasonCode, ref: 'b.example:1883' });
    });
  }
});
