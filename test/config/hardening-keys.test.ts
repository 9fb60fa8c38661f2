/**
 * The configuration keys of the login and transport hardening: auth.login, the per-address
 * limits, WebSocket allowedOrigins and TLS ciphers map to options, and bad values are
 * refused with the key path and the expectation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ConfigError,
  configToPlan,
  loadSecurity,
  parseConfig,
  toListenerOptions,
} from '../../src/config/index.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('config: login protection, per-address limits, origins and ciphers', () => {
  it('maps auth.login (seconds to ms) and the per-address limits', () => {
    const plan = configToPlan(
      parseConfig(
        [
          'auth:',
          '  login:',
          '    maxConcurrentHashes: 3',
          '    maxQueued: 64',
          '    freeFailures: 4',
          '    failureDelay: 0.5',
          '    maxFailureDelay: 30',
          '    cacheSize: 0',
          '    cacheTtl: 600',
          'limits:',
          '  maxConnectionsPerAddress: 20',
          '  addressLimitsOnLoopback: true',
          '',
        ].join('\n'),
      ),
      CTX,
    );
    assert.deepEqual(plan.login, {
      maxConcurrentHashes: 3,
      maxQueuedLogins: 64,
      freeFailures: 4,
      failureDelayMs: 500,
      maxFailureDelayMs: 30_000,
      cacheSize: 0,
      cacheTtlMs: 600_000,
      addressLimitsOnLoopback: true,
    });
    assert.equal(plan.options.maxConnectionsPerAddress, 20);
    assert.equal(plan.options.addressLimitsOnLoopback, true);
  });

  it('without them: no login settings (the guard defaults) and no per-address options', () => {
    const plan = configToPlan({}, CTX);
    assert.deepEqual(plan.login, {});
    assert.equal('maxConnectionsPerAddress' in plan.options, false);
  });

  it('allowedOrigins reaches ws and wss listeners; tls.ciphers reaches the TLS options', () => {
    const plan = configToPlan(
      parseConfig(
        [
          'listeners:',
          '  - type: ws',
          '    port: 8090',
          '    allowedOrigins: ["https://dash.example.com", "http://localhost:3000", "null"]',
          '    maxFrameSize: 4MiB',
          '  - type: mqtts',
          '    port: 8884',
          '    tls: { cert: c.pem, key: k.pem, ciphers: "TLS_AES_128_GCM_SHA256" }',
          '',
        ].join('\n'),
      ),
      CTX,
    );
    const [ws, mqtts] = plan.listeners.map((l) => toListenerOptions(l.listen));
    assert.deepEqual(ws, {
      type: 'ws',
      port: 8090,
      host: '127.0.0.1',
      name: 'ws:8090',
      path: '/mqtt',
      allowedOrigins: ['https://dash.example.com', 'http://localhost:3000', 'null'],
      maxFrameSize: 4 * 1024 * 1024,
    });
    assert.equal(mqtts?.type === 'mqtts' && mqtts.tls.ciphers, 'TLS_AES_128_GCM_SHA256');
  });

  const cases: [string, string, string[]][] = [
    [
      'a login queue of 0',
      'auth:\n  login:\n    maxQueued: 0\n',
      ['auth.login.maxQueued: expected an integer 1-100000, got 0 (line 3)'],
    ],
    [
      'a negative failure delay',
      'auth:\n  login:\n    failureDelay: -1\n',
      [
        'auth.login.failureDelay: expected a number of seconds greater than 0, at most 3600, got -1 (line 3)',
      ],
    ],
    [
      'an unknown login key',
      'auth:\n  login:\n    cacheSizes: 5\n',
      ['auth.login.cacheSizes: unknown key (did you mean "cacheSize"?) (line 3)'],
    ],
    [
      'a negative per-address cap',
      'limits:\n  maxConnectionsPerAddress: -1\n',
      [
        'limits.maxConnectionsPerAddress: expected an integer 0-10000000 (0 = no cap), got -1 (line 2)',
      ],
    ],
    [
      'an origin without a scheme',
      'listeners:\n  - type: ws\n    allowedOrigins: ["example.com"]\n',
      [
        'listeners[0].allowedOrigins[0]: expected an origin such as "https://example.com:8443", "null" or "*", got "example.com" (line 3)',
      ],
    ],
    [
      'an origin with a path',
      'listeners:\n  - type: ws\n    allowedOrigins: ["https://example.com/app"]\n',
      [
        'listeners[0].allowedOrigins[0]: expected an origin such as "https://example.com:8443", "null" or "*", got "https://example.com/app" (line 3)',
      ],
    ],
    [
      'allowedOrigins on a plain MQTT listener',
      'listeners:\n  - type: mqtt\n    allowedOrigins: ["*"]\n',
      [
        'listeners[0].allowedOrigins: only allowed on ws and wss listeners (this one is mqtt) (line 3)',
      ],
    ],
    [
      'maxFrameSize on a TLS MQTT listener',
      'listeners:\n  - type: mqtts\n    tls: { cert: c.pem, key: k.pem }\n    maxFrameSize: 1MiB\n',
      [
        'listeners[0].maxFrameSize: only allowed on ws and wss listeners (this one is mqtts) (line 4)',
      ],
    ],
    [
      'a maxFrameSize below 1 KiB',
      'listeners:\n  - type: ws\n    maxFrameSize: 100\n',
      [
        'listeners[0].maxFrameSize: expected a size in bytes 1024-1073741824 (a number or a string like "64KiB", "1MiB"), got 100 (line 3)',
      ],
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(problems(text), expected);
    });
  }

  describe('tls.ciphers is checked when the files are', () => {
    let certs: TestCerts;
    before(() => {
      certs = makeTestCerts();
    });
    after(() => certs.cleanup());

    it('a cipher list OpenSSL knows nothing of names the listener', async () => {
      const text = `listeners:\n  - type: mqtts\n    tls: { cert: ${certs.server.cert}, key: ${certs.server.key}, ciphers: "NOT-A-CIPHER" }\n`;
      const plan = configToPlan(parseConfig(text), CTX);
      await assert.rejects(
        loadSecurity(plan.listeners, { hookTimeoutMs: 1000 }),
        (err: ConfigError) => {
          assert.equal(err.problems.length, 1);
          assert.match(
            err.problems[0]!,
            /^listeners\[0\]\.tls: invalid TLS ciphers "NOT-A-CIPHER"/,
          );
          return true;
        },
      );
    });
  });
});
