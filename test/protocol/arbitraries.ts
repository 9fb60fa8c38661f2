/**
 * fast-check generators of valid packets in the canonical shape our Decoder produces for
 * a version (MQTT 5 packets always carry `properties`, acks a `reasonCode`; 3.x ones not).
 */
import fc from 'fast-check';
import {
  type Packet,
  PROPERTY_DEFINITIONS,
  type Properties,
  type PropertyContext,
  type ProtocolVersion,
  type QoS,
} from '../../src/protocol/index.js';

const BOOLEAN_BYTE = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const NON_ZERO = new Set([0x21, 0x23, 0x27]);

/** A valid MQTT string (no U+0000, no lone surrogates), ASCII or not. */
export const mqttString = (maxLength = 12): fc.Arbitrary<string> =>
  fc
    .oneof(fc.string({ maxLength }), fc.string({ unit: 'grapheme', maxLength }))
    .filter((s) => !s.includes('\0'));

const level = mqttString(6).map((s) => s.replace(/[/+#]/g, 'x'));

export const topicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

export const topicFilter: fc.Arbitrary<string> = fc
  .tuple(
    fc.option(fc.constantFrom('grp', 'g1'), { nil: undefined }),
    fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }),
    fc.boolean(),
  )
  .filter(([, levels, hash]) => hash || levels.join('/').length > 0)
  .map(([group, levels, hash]) => {
    const filter = hash ? [...levels, '#'].join('/') : levels.join('/');
    return group === undefined ? filter : `$share/${group}/${filter}`;
  });

const buffer = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 0xffff });

/** User property keys, prefixed so mqtt-packet's map keeps their order (no integer keys). */
const userKey = mqttString(6).map((s) => `k${s}`);

function propertyValue(id: number, wireType: string, ctx: PropertyContext): fc.Arbitrary<unknown> {
  switch (wireType) {
    case 'byte':
      return BOOLEAN_BYTE.has(id) ? fc.constantFrom(0, 1) : fc.integer({ min: 0, max: 255 });
    case 'twoByteInt':
      return fc.integer({ min: NON_ZERO.has(id) ? 1 : 0, max: 0xffff });
    case 'fourByteInt':
      return fc.integer({ min: NON_ZERO.has(id) ? 1 : 0, max: 0xffffffff });
    case 'varInt':
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), {
        minLength: 1,
        maxLength: ctx === 'subscribe' ? 1 : 3,
      });
    case 'utf8':
      // A Response Topic is a topic name: no wildcards [MQTT-3.3.2-14].
      return id === 0x08 ? topicName : mqttString();
    case 'binary':
      return buffer(20);
    default:
      return fc.uniqueArray(fc.tuple(userKey, mqttString(6)), {
        minLength: 1,
        maxLength: 3,
        selector: (pair) => pair[0],
      });
  }
}

/** Properties valid in `ctx`, each present or not. */
export function properties(ctx: PropertyContext): fc.Arbitrary<Properties> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const def of PROPERTY_DEFINITIONS) {
    if (def.allowedIn.includes(ctx)) model[def.name] = propertyValue(def.id, def.wireType, ctx);
  }
  // fc.record builds null-prototype objects; the decoder returns plain ones.
  return fc.record(model, { requiredKeys: [] }).map((r) => ({ ...r })) as fc.Arbitrary<Properties>;
}

const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES = [0x00, 0x92];
const SUBACK_CODES = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const DISCONNECT_CODES = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95,
  0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];
const CONNACK_CODES = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
];

function connect(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = v === 5;
  return fc
    .record({
      clean: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 0xffff }),
      clientId: mqttString(23),
      will: fc.option(
        fc.record({
          topic: topicName,
          payload: buffer(30),
          qos,
          retain: fc.boolean(),
          properties: v5 ? properties('will') : fc.constant(undefined),
        }),
        { nil: undefined },
      ),
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(buffer(12), { nil: undefined }),
      properties: v5 ? properties('connect') : fc.constant(undefined),
    })
    .map((r) => {
      const p: Packet = {
        type: 'connect',
        protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: v,
        clean: r.clean,
        keepAlive: r.keepAlive,
        clientId: r.clientId,
      };
      if (v5) p.properties = r.properties;
      if (r.will) {
        const { properties: wp, ...rest } = r.will;
        p.will = v5 ? { ...rest, properties: wp } : rest;
      }
      if (r.username !== undefined) p.username = r.username;
      if (r.password !== undefined && (v5 || r.username !== undefined)) p.password = r.password;
      return p;
    });
}

function publish(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      topic: topicName,
      payload: buffer(300),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      properties: properties('publish'),
    })
    .map((r) => {
      const p: Packet = {
        type: 'publish',
        topic: r.topic,
        payload: r.payload,
        qos: r.qos,
        retain: r.retain,
        dup: r.qos > 0 && r.dup,
      };
      if (r.qos > 0) p.packetId = r.packetId;
      if (v === 5) p.properties = r.properties;
      return p;
    });
}

function pubAck(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      type: fc.constantFrom(
        'puback' as const,
        'pubrec' as const,
        'pubrel' as const,
        'pubcomp' as const,
      ),
      packetId,
      code: fc.nat(),
      properties: properties('puback'),
    })
    .map((r) => {
      if (v !== 5) return { type: r.type, packetId: r.packetId };
      const codes = r.type === 'puback' || r.type === 'pubrec' ? PUBACK_CODES : PUBREL_CODES;
      return {
        type: r.type,
        packetId: r.packetId,
        reasonCode: codes[r.code % codes.length],
        properties: r.properties,
      };
    });
}

function subscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const sub = fc
    .record({
      filter: topicFilter,
      qos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    })
    .map((s) =>
      v === 5
        ? { ...s, noLocal: s.noLocal && !s.filter.startsWith('$share/') }
        : { ...s, noLocal: false, retainAsPublished: false, retainHandling: 0 as const },
    );
  return fc
    .record({
      packetId,
      subscriptions: fc.array(sub, { minLength: 1, maxLength: 4 }),
      properties: properties('subscribe'),
    })
    .map((r) =>
      v === 5
        ? { type: 'subscribe' as const, ...r }
        : { type: 'subscribe' as const, packetId: r.packetId, subscriptions: r.subscriptions },
    );
}

function unsubscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      packetId,
      filters: fc.array(topicFilter, { minLength: 1, maxLength: 4 }),
      properties: properties('unsubscribe'),
    })
    .map((r) =>
      v === 5
        ? { type: 'unsubscribe' as const, ...r }
        : { type: 'unsubscribe' as const, packetId: r.packetId, filters: r.filters },
    );
}

function acks(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const suback = fc
    .record({
      packetId,
      codes: fc.array(fc.constantFrom(...(v === 5 ? SUBACK_CODES : [0, 1, 2, 0x80])), {
        minLength: 1,
        maxLength: 5,
      }),
      properties: properties('suback'),
    })
    .map((r) =>
      v === 5
        ? {
            type: 'suback' as const,
            packetId: r.packetId,
            reasonCodes: r.codes,
            properties: r.properties,
          }
        : { type: 'suback' as const, packetId: r.packetId, reasonCodes: r.codes },
    );
  const unsuback = fc
    .record({
      packetId,
      codes: fc.array(fc.constantFrom(...UNSUBACK_CODES), { minLength: 1, maxLength: 5 }),
      properties: properties('unsuback'),
    })
    .map((r) =>
      v === 5
        ? {
            type: 'unsuback' as const,
            packetId: r.packetId,
            reasonCodes: r.codes,
            properties: r.properties,
          }
        : { type: 'unsuback' as const, packetId: r.packetId, reasonCodes: [] },
    );
  const connack = fc
    .record({
      sessionPresent: fc.boolean(),
      code: fc.constantFrom(...(v === 5 ? CONNACK_CODES : [0, 1, 2, 3, 4, 5])),
      properties: properties('connack'),
    })
    .map((r) => {
      const sessionPresent = r.sessionPresent && r.code === 0 && v !== 3;
      return v === 5
        ? { type: 'connack' as const, sessionPresent, reasonCode: r.code, properties: r.properties }
        : { type: 'connack' as const, sessionPresent, reasonCode: r.code };
    });
  return fc.oneof(suback, unsuback, connack);
}

function control(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const ping = fc.constantFrom<Packet>({ type: 'pingreq' }, { type: 'pingresp' });
  if (v !== 5) return fc.oneof(ping, fc.constant<Packet>({ type: 'disconnect' }));
  const disconnect = fc
    .record({
      reasonCode: fc.constantFrom(...DISCONNECT_CODES),
      properties: properties('disconnect'),
    })
    .map((r) => ({ type: 'disconnect' as const, ...r }));
  const auth = fc
    .record({ reasonCode: fc.constantFrom(0x00, 0x18, 0x19), properties: properties('auth') })
    .map((r) => ({ type: 'auth' as const, ...r }));
  return fc.oneof(ping, disconnect, auth);
}

/** Any valid packet at `v`, excluding CONNECT (which sets the version) unless `withConnect`. */
export function packetOf(v: ProtocolVersion, withConnect = true): fc.Arbitrary<Packet> {
  const others = [publish(v), pubAck(v), subscribe(v), unsubscribe(v), acks(v), control(v)];
  return withConnect ? fc.oneof(connect(v), ...others) : fc.oneof(...others);
}

export { connect as connectOf, publish as publishOf };
