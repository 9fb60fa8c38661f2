import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigFile, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';
import { tempDir } from './fixtures.js';

describe('config: bad files are refused with the key path, the expectation and the value', () => {
  const cases: [string, string, string[]][] = [
    [
      'a port that is not a number',
      'listeners:\n  - port: 1883\n  - port: abc\n',
      ['listeners[1].port: expected an integer 0-65535, got "abc" (line 3)'],
    ],
    [
      'a port out of range',
      'listeners:\n  - port: 70000\n',
      ['listeners[0].port: expected an integer 0-65535, got 70000 (line 2)'],
    ],
    [
      'a wrong type',
      'auth:\n  allowAnonymous: "yes"\n',
      ['auth.allowAnonymous: expected true or false, got "yes" (line 2)'],
    ],
    [
      'an unknown key, with a suggestion',
      'listeners:\n  - port: 1883\n    hots: 0.0.0.0\n',
      ['listeners[0].hots: unknown key (did you mean "host"?) (line 3)'],
    ],
    [
      'an unknown top-level section',
      'limit:\n  maxInflight: 10\n',
      ['limit: unknown key (did you mean "limits"?) (line 1)'],
    ],
    [
      'an unknown key with nothing close',
      'log:\n  colour: true\n',
      ['log.colour: unknown key (expected one of level, format, file, rotate, stdout) (line 2)'],
    ],
    [
      'mqtts without a certificate',
      'listeners:\n  - type: mqtts\n    tls:\n      key: server.key\n',
      ['listeners[0].tls.cert: required for a listener of type mqtts (line 3)'],
    ],
    [
      'wss without tls at all',
      'listeners:\n  - type: wss\n',
      [
        'listeners[0].tls.cert: required for a listener of type wss (line 2)',
        'listeners[0].tls.key: required for a listener of type wss (line 2)',
      ],
    ],
    [
      'an unknown listener type',
      'listeners:\n  - type: quic\n',
      ['listeners[0].type: expected one of mqtt, mqtts, ws, wss, http, https, got "quic" (line 2)'],
    ],
    [
      'a negative limit',
      'limits:\n  maxQueuedMessages: -5\n',
      ['limits.maxQueuedMessages: expected an integer 0-100000000, got -5 (line 2)'],
    ],
    [
      'a bad size string',
      'limits:\n  maxPacketSize: 1 MeB\n',
      [
        'limits.maxPacketSize: expected a size in bytes 2-268435460 (a number or a string like "64KiB", "1MiB"), got "1 MeB" (line 2)',
      ],
    ],
    [
      'a bad durability',
      'storage:\n  durability: async\n',
      ['storage.durability: expected one of fsync, batched, none, got "async" (line 2)'],
    ],
    [
      'a path on a plain mqtt listener',
      'listeners:\n  - port: 1883\n    path: /mqtt\n',
      ['listeners[0].path: only allowed on ws and wss listeners (this one is mqtt) (line 3)'],
    ],
    [
      'two listeners with the same name',
      'listeners:\n  - port: 1883\n  - port: 1883\n    host: ::1\n',
      [
        'listeners[1].name: duplicate listener name "mqtt:1883" (also listeners[0]); give each listener its own name (line 3)',
      ],
    ],
    [
      'requireCertificate without a CA',
      'listeners:\n  - type: mqtts\n    tls: { cert: c.pem, key: k.pem, requireCertificate: true }\n',
      [
        'listeners[0].tls.ca: required when tls.requireCertificate is true (client certificates are checked against it) (line 3)',
      ],
    ],
    [
      'a list where a mapping belongs',
      '- port: 1883\n',
      [
        '(top level): expected a mapping of sections (listeners, auth, limits, mqtt, storage, log, bridges, cluster, adminApi, metrics), got a list',
      ],
    ],
    [
      'a bad hook timeout',
      'auth:\n  hookTimeoutMs: 0\n',
      ['auth.hookTimeoutMs: expected an integer 1-600000, got 0 (line 2)'],
    ],
    [
      'a cluster URL that is not a Redis URL',
      'cluster:\n  url: http://127.0.0.1:6379\n',
      [
        'cluster.url: expected a Redis URL such as "redis://127.0.0.1:6379" or "unix:///run/redis/redis.sock", got "http://127.0.0.1:6379" (line 2)',
      ],
    ],
    [
      'a cluster heartbeat not below the lease',
      'cluster:\n  url: redis://127.0.0.1:6379\n  leaseMs: 1000\n  heartbeatMs: 1000\n',
      [
        'cluster.heartbeatMs: expected heartbeatMs below leaseMs (default 10000), got 1000 (line 4)',
      ],
    ],
    [
      'a cluster node id out of range',
      'cluster:\n  url: redis://127.0.0.1:6379\n  nodeId: 256\n',
      ['cluster.nodeId: expected an integer 0-255, got 256 (line 3)'],
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      assert.deepEqual(problems(text), expected);
    });
  }

  it('a YAML syntax error names the file, line and column', () => {
    assert.deepEqual(problems('listeners:\n  - port: 1883\n   host: x\n'), [
      'pipit.yaml:3:1: YAML syntax error: Sequence item without - indicator',
    ]);
  });

  it('a duplicate key is a YAML error (the second would silently win otherwise)', () => {
    assert.deepEqual(problems('log:\n  level: info\nlog:\n  level: debug\n'), [
      'pipit.yaml:3:1: YAML syntax error: Map keys must be unique',
    ]);
  });

  it('reports every problem of a file at once', () => {
    const found = problems('listeners:\n  - port: -1\nstorage:\n  type: disk\n');
    assert.equal(found.length, 2);
  });

  it('an empty file is a valid configuration', () => {
    assert.deepEqual(parseConfig('', 'pipit.yaml'), {});
    assert.deepEqual(parseConfig('# only comments\n', 'pipit.yaml'), {});
  });

  it('a missing file is named', async () => {
    await assert.rejects(loadConfigFile('/nonexistent/pipit.yaml'), (err: Error) => {
      assert.match(err.message, /^\/nonexistent\/pipit\.yaml: cannot read the configuration file/);
      return true;
    });
  });

  it('loads a file from disk', async () => {
    const tmp = await tempDir();
    try {
      const path = await tmp.write('p.yaml', 'log:\n  level: debug\n');
      assert.deepEqual(await loadConfigFile(path), { log: { level: 'debug' } });
    } finally {
      await tmp.remove();
    }
  });
});

describe('config: pipit.example.yaml', () => {
  it('is a valid configuration', async () => {
    const config = await loadConfigFile('pipit.example.yaml');
    assert.equal(config.limits?.maxPacketSize, 1048576);
    assert.equal(config.storage?.durability, 'fsync');
  });
});

describe('config: the Redis store keys (storage.type redis)', () => {
  it('type redis needs a url', () => {
    const found = problems('storage:\n  type: redis\n');
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], /^storage\.url: required for storage type redis/);
  });

  it('a url that is not redis:// or rediss:// is refused, naming the key', () => {
    const found = problems('storage:\n  type: redis\n  url: http://127.0.0.1:6379\n');
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(
      found[0],
      /^storage\.url: .*expected a redis:\/\/, rediss:\/\/ or unix:\/\/\/path\/to\/redis\.sock URL/,
    );
  });

  it('url, prefix and wait without type redis, dataDir and durability with it, are refused', () => {
    const sqlite = problems('storage:\n  url: redis://127.0.0.1:6379\n  prefix: "x:"\n');
    assert.deepEqual(
      sqlite.map((p) => p.split(':')[0]),
      ['storage.url', 'storage.prefix'],
    );
    assert.match(sqlite[0], /only for storage type redis \(this one is sqlite\)/);
    const redis = problems(
      'storage:\n  type: redis\n  url: redis://127.0.0.1:6379\n  durability: fsync\n',
    );
    assert.equal(redis.length, 1, redis.join('\n'));
    assert.match(redis[0], /^storage\.durability: only for the SQLite store/);
  });

  it('a prefix with a brace and a wait without replicas are refused', () => {
    const found = problems(
      'storage:\n  type: redis\n  url: redis://h:1\n  prefix: "a{b}"\n  wait:\n    timeout: 1\n',
    );
    // Both in one answer (the prefix is checked with storage.nodes, after the keys).
    assert.equal(found.length, 2, found.join('\n'));
    const [wait, prefix] = found;
    assert.match(prefix, /^storage\.prefix: expected a key prefix without '\{' or '\}'/);
    assert.match(wait, /^storage\.wait\.replicas: /);
  });
});
