/**
 * The `bridges:` section: a good one becomes BridgeOptions (addresses parsed, seconds to ms,
 * TLS files read), and each bad key is refused with a message naming it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configToPlan, parseConfig } from '../../src/config/index.js';
import { startConfigured } from '../config/configured-broker.js';
import { connectClient, endClient, startBroker } from '../helpers/broker.js';
import { Inbox, tempDir, waitBridge } from './remotes.js';

const GOOD = `
bridges:
  - name: central
    addresses: ["central.example.com:1884", "[::1]:1885", backup.example.com]
    protocol: mqttv50
    cleanSession: false
    keepAlive: 30
    username: edge
    password: secret
    reconnectDelay: 0.5
    maxReconnectDelay: 20
    primaryProbe: 30
    topics:
      - { pattern: "sensors/#", direction: out, qos: 1, localPrefix: "", remotePrefix: "site1/" }
      - { pattern: "cmd/#", direction: in, qos: 2, localPrefix: "local/", remotePrefix: "site1/" }
`;

/** The message of the ConfigError `text` throws. */
function refusal(text: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('bridges configuration', () => {
  it('a good bridge becomes broker options', () => {
    const dir = tempDir('pipit-bridge-conf-');
    const plan = configToPlan(parseConfig(GOOD), { baseDir: dir, cwd: dir });
    const [bridge] = plan.options.bridges ?? [];
    assert.deepEqual(bridge?.addresses, [
      { host: 'central.example.com', port: 1884 },
      { host: '::1', port: 1885 },
      { host: 'backup.example.com', port: 1883 },
    ]);
    assert.equal(bridge?.protocolVersion, 5);
    assert.equal(bridge?.reconnectDelayMs, 500);
    assert.equal(bridge?.maxReconnectDelayMs, 20_000);
    assert.equal(bridge?.primaryProbeMs, 30_000);
    assert.equal(bridge?.topics.length, 2);
  });

  it('TLS files are read relative to the configuration; a missing one is named by its key', () => {
    const dir = tempDir('pipit-bridge-conf-');
    writeFileSync(join(dir, 'ca.pem'), 'not really a CA');
    const withTls = (ca: string) =>
      `bridges:\n  - name: t\n    addresses: ["h:8883"]\n    tls: { ca: ${ca} }\n    topics: [{ pattern: "a/#" }]\n`;
    const plan = configToPlan(parseConfig(withTls('ca.pem')), { baseDir: dir, cwd: dir });
    const tls = plan.options.bridges?.[0]?.tls;
    assert.ok(typeof tls === 'object' && Buffer.isBuffer(tls.ca));
    assert.throws(
      () => configToPlan(parseConfig(withTls('missing.pem')), { baseDir: dir, cwd: dir }),
      (err: Error) =>
        err instanceof ConfigError && /^bridges\[0\]\.tls\.ca: cannot read /.test(err.message),
    );
  });

  const bad: [string, string, RegExp][] = [
    [
      'an unknown key',
      'bridges:\n  - name: a\n    adresses: ["h:1"]\n    addresses: ["h:1"]\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.adresses: unknown key \(did you mean "addresses"\?\)/,
    ],
    [
      'a direction',
      'bridges:\n  - name: a\n    addresses: ["h:1"]\n    topics: [{ pattern: "#", direction: up }]\n',
      /bridges\[0\]\.topics\[0\]\.direction: expected one of in, out, both, got "up"/,
    ],
    [
      'a port',
      'bridges:\n  - name: a\n    addresses: ["h:99999"]\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.addresses\[0\]: expected "host:port"/,
    ],
    [
      'a name that cannot go into a topic',
      'bridges:\n  - name: "a/b"\n    addresses: ["h"]\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.name: expected a name of letters/,
    ],
    [
      'a prefix with a wildcard',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    topics: [{ pattern: "x", remotePrefix: "+/" }]\n',
      /bridges\[0\]\.topics\[0\]\.remotePrefix: expected a topic prefix without wildcards/,
    ],
    [
      'a pattern that is no filter once prefixed',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    topics: [{ pattern: "a/#/b" }]\n',
      /bridges\[0\]\.topics\[0\]\.pattern: "a\/#\/b" \(localPrefix \+ pattern\) is not a valid topic filter/,
    ],
    [
      'a name used twice',
      'bridges:\n  - { name: a, addresses: ["h"], topics: [{ pattern: "#" }] }\n  - { name: a, addresses: ["i"], topics: [{ pattern: "#" }] }\n',
      /bridges\[1\]\.name: duplicate bridge name "a" \(also bridges\[0\]\)/,
    ],
    [
      'a certificate without its key',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    tls: { cert: c.pem }\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.tls\.key: a client certificate needs both cert and key/,
    ],
    [
      'a notification topic with a wildcard',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    notificationTopic: "state/#"\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.notificationTopic: "state\/#" is not a valid topic name/,
    ],
    [
      'a negative incoming rate',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    maxIncomingRate: -5\n    topics: [{ pattern: "#" }]\n',
      /bridges\[0\]\.maxIncomingRate: expected a number of messages per second 0-10000000/,
    ],
    [
      'no topic rule',
      'bridges:\n  - name: a\n    addresses: ["h"]\n    topics: []\n',
      /bridges\[0\]\.topics: expected at least one topic rule/,
    ],
  ];
  for (const [what, text, expected] of bad) {
    it(`refuses ${what}, naming the key`, () => {
      assert.match(refusal(text), expected);
    });
  }

  it('incoming messages go through auth.aclFile as the bridge (localUsername), like a client', async () => {
    const dir = tempDir('pipit-bridge-acl-');
    writeFileSync(
      join(dir, 'rules.acl'),
      ['topic read edge/#', 'user bridge-in', 'topic write edge/down/open', ''].join('\n'),
    );
    const remote = await startBroker();
    const local = await startConfigured(
      [
        'auth: { aclFile: rules.acl }',
        'bridges:',
        '  - name: acl',
        `    addresses: ["127.0.0.1:${remote.port}"]`,
        '    protocol: mqttv50',
        '    localUsername: bridge-in',
        '    reconnectDelay: 0.05',
        '    topics: [{ pattern: "down/#", direction: in, qos: 1, localPrefix: "edge/", remotePrefix: "site1/" }]',
        '',
      ].join('\n'),
      dir,
    );
    try {
      await waitBridge(local.broker, 'acl');
      const reader = await connectClient(local.urls[0]!, { clientId: 'acl-reader' });
      await reader.subscribeAsync('edge/down/#', { qos: 1 });
      const inbox = new Inbox(reader);
      const writer = await connectClient(remote.url, { clientId: 'acl-writer' });
      await writer.publishAsync('site1/down/secret', 's', { qos: 1 });
      await writer.publishAsync('site1/down/open', 'o', { qos: 1 });
      await inbox.waitFor('edge/down/open');
      assert.deepEqual(
        inbox.got.map((m) => m.topic),
        ['edge/down/open'],
      );
      assert.equal(local.broker.bridges()[0]!.refusedIn, 1);
      await endClient(reader, true);
      await endClient(writer, true);
    } finally {
      await local.close();
      await remote.close();
    }
  });
});
