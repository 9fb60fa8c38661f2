/**
 * The pure parts of `pub`/`sub` flag handling: -L URLs, -D property words, -F formats and
 * the JSON form of a message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/cli/flag-values.js';
import { parsePropertyFlags } from '../../src/cli/property-flags.js';
import { compileFormat, type FormatContext } from '../../src/cli/sub-format.js';
import { parseBrokerUrl } from '../../src/cli/url-flag.js';
import type { PublishPacket } from '../../src/protocol/index.js';

describe('-L URLs', () => {
  test('credentials, IPv6 host, default ports, and a filter with # and + kept as is', () => {
    assert.deepEqual(parseBrokerUrl('mqtts://u:p:w@[::1]/a/+/b/#'), {
      tls: true,
      host: '::1',
      port: 8883,
      username: 'u',
      password: 'p:w',
      topic: 'a/+/b/#',
    });
    assert.deepEqual(parseBrokerUrl('mqtt://broker:1884'), {
      tls: false,
      host: 'broker',
      port: 1884,
      topic: '',
    });
  });

  test('a wrong scheme, no host or a bad port is a UsageError naming the URL', () => {
    assert.throws(() => parseBrokerUrl('ws://h/t'), /must start with mqtt:\/\/ or mqtts:\/\//);
    assert.throws(() => parseBrokerUrl('mqtt:///t'), /no host/);
    assert.throws(() => parseBrokerUrl('mqtt://h:70000/t'), UsageError);
  });
});

describe('-D property words', () => {
  test('groups of three, and four for user-property, split per command', () => {
    const words = [
      'publish',
      'user-property',
      'k',
      'v',
      'PUBLISH',
      'content-type',
      'text/plain',
      'connect',
      'session-expiry-interval',
      '60',
      'will',
      'will-delay-interval',
      '5',
    ];
    assert.deepEqual(parsePropertyFlags(words, ['connect', 'publish', 'will']), {
      publish: { userProperties: [['k', 'v']], contentType: 'text/plain' },
      connect: { sessionExpiryInterval: 60 },
      will: { willDelayInterval: 5 },
    });
  });

  test('binary properties become bytes; a second value of a single property is refused', () => {
    const set = parsePropertyFlags(['publish', 'correlation-data', 'abc'], ['publish']);
    assert.deepEqual(set.publish?.correlationData, Buffer.from('abc'));
    assert.throws(
      () =>
        parsePropertyFlags(
          ['publish', 'topic-alias', '1', 'publish', 'topic-alias', '2'],
          ['publish'],
        ),
      /-D publish topic-alias is given twice/,
    );
  });

  test('unknown command, unknown property, wrong packet, missing value, bad number', () => {
    const pub = ['connect', 'publish', 'disconnect', 'will'] as const;
    assert.throws(
      () => parsePropertyFlags(['subscribe', 'user-property', 'a', 'b'], pub),
      /"subscribe" is not a command here/,
    );
    assert.throws(
      () => parsePropertyFlags(['publish', 'colour', 'red'], pub),
      /unknown property "colour"/,
    );
    assert.throws(
      () => parsePropertyFlags(['connect', 'topic-alias', '3'], pub),
      /topic-alias is not allowed in connect/,
    );
    assert.throws(
      () => parsePropertyFlags(['publish', 'content-type'], pub),
      /content-type: no value/,
    );
    assert.throws(
      () => parsePropertyFlags(['publish', 'user-property', 'k'], pub),
      /needs a name and a value/,
    );
    assert.throws(
      () => parsePropertyFlags(['publish', 'payload-format-indicator', '2'], pub),
      /"2" is not an integer from 0 to 1/,
    );
  });
});

describe('-F formats', () => {
  const packet: PublishPacket = {
    type: 'publish',
    topic: 'sensors/1',
    payload: Buffer.from([0x68, 0x69, 0xff]),
    qos: 1,
    retain: false,
    dup: false,
    packetId: 7,
    properties: {
      contentType: 'application/x',
      userProperties: [
        ['a', '1'],
        ['b', '2'],
      ],
      subscriptionIdentifiers: [3, 4],
    },
  };
  const ctx = (p: PublishPacket = packet): FormatContext => ({
    packet: p,
    stamp: { date: new Date(2020, 0, 2, 3, 4, 5), ns: 1_577_934_245_123_456_789n },
    pretty: false,
    warn: () => {},
  });
  const render = (format: string, p?: PublishPacket): Buffer => {
    const out = compileFormat(format)(ctx(p));
    assert.ok(out, 'rendered');
    return out;
  };

  test('%p writes the payload bytes as received, also when padded', () => {
    assert.deepEqual(render('%p'), Buffer.from([0x68, 0x69, 0xff]));
    assert.deepEqual(render('[%5p]'), Buffer.from([0x5b, 0x20, 0x20, 0x68, 0x69, 0xff, 0x5d]));
  });

  test('MQTT 5 properties, absent ones print nothing; time and escapes', () => {
    assert.equal(render('%C|%P|%S|%R|%E|%m').toString(), 'application/x|a:1 b:2|3,4|||7');
    assert.equal(
      render('@Y-@m-@d @H:@M:@S @j @a @N').toString(),
      '2020-01-02 03:04:05 002 Thu 123456789',
    );
    assert.equal(render('%U').toString(), '1577934245.123456789');
    assert.equal(render('a\\tb\\\\c\\0').toString(), 'a\tb\\c\0');
  });

  test('%J skips a message whose payload is not JSON (and says so)', () => {
    const warnings: string[] = [];
    const out = compileFormat('%J')({ ...ctx(), warn: (t) => warnings.push(t) });
    assert.equal(out, undefined);
    assert.deepEqual(warnings, ['message payload is not valid JSON on topic sensors/1']);
  });

  test('%j keeps a binary payload lossless in payload_base64', () => {
    const json = JSON.parse(render('%j').toString());
    assert.equal(json.payload_base64, Buffer.from([0x68, 0x69, 0xff]).toString('base64'));
    assert.equal(json.payload, undefined);
    assert.deepEqual(json.properties['user-properties'], { a: '1', b: '2' });
  });

  test('unknown or incomplete sequences are UsageErrors naming them', () => {
    assert.throws(() => compileFormat('%z'), /unknown format specifier "%z"/);
    assert.throws(() => compileFormat('%5'), /incomplete format specifier/);
    assert.throws(() => compileFormat('@Q'), /unknown time specifier "@Q"/);
    assert.throws(() => compileFormat('\\q'), /unknown escape "\\q"/);
  });
});
