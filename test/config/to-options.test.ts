import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConfigError,
  configToPlan,
  mergeOverrides,
  parseConfig,
  readEnvOverrides,
  toListenerOptions,
} from '../../src/config/index.js';

const FULL = `
listeners:
  - type: mqtt
    port: 1884
    host: 0.0.0.0
    name: public
    auth:
      passwordFile: users.txt
      aclFile: public.acl
  - type: mqtts
    port: 8884
    tls:
      cert: tls/server.crt
      key: tls/server.key
      ca: /etc/pipit/ca.pem
      minVersion: TLSv1.3
      requireCertificate: true
      identityFrom: san
      useIdentityAsUsername: true
  - type: ws
    port: 8090
    path: /ws
auth:
  allowAnonymous: false
  aclFile: common.acl
  hookTimeoutMs: 2000
  bindClientIdToUser: false
  checkRetainSource: false
limits:
  maxPacketSize: 256KiB
  receiveMaximum: 50
  maxInflight: 20
  maxQueuedMessages: 500
  maxQueuedBytes: 8MiB
  maxSocketBuffer: 1MiB
  topicAliasMaximum: 10
  maxSessionExpiry: 86400
  maxKeepAlive: 600
  connectTimeout: 2.5
  maxRetainedMessages: 1000
  maxSubscriptionsPerClient: 50
mqtt:
  maximumQoS: 1
  retainAvailable: false
  queueQos0Offline: true
  assignedClientIdPrefix: auto-
storage:
  type: sqlite
  dataDir: state
  durability: batched
log:
  level: debug
`;

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('config: a valid file maps to broker options', () => {
  it('maps every section of a full file', () => {
    const plan = configToPlan(parseConfig(FULL, 'full.yaml'), CTX);
    assert.deepEqual(plan.options, {
      maximumPacketSize: 262144,
      receiveMaximum: 50,
      maxInflight: 20,
      maxQueuedMessages: 500,
      maxQueuedBytes: 8388608,
      maxSocketBufferBytes: 1048576,
      topicAliasMaximum: 10,
      maxSessionExpiry: 86400,
      maxKeepAlive: 600,
      connectTimeoutMs: 2500,
      maxRetainedMessages: 1000,
      maxSubscriptionsPerClient: 50,
      maximumQoS: 1,
      retainAvailable: false,
      queueQos0Offline: true,
      assignedClientIdPrefix: 'auto-',
      bindClientIdToUser: false,
      checkRetainSource: false,
      persistence: { kind: 'sqlite', dataDir: '/etc/pipit/state', durability: 'batched' },
    });
    assert.equal(plan.hookTimeoutMs, 2000);
    assert.equal(plan.logLevel, 'debug');
    assert.deepEqual(
      plan.listeners.map((l) => toListenerOptions(l.listen)),
      [
        { type: 'mqtt', port: 1884, host: '0.0.0.0', name: 'public' },
        {
          type: 'mqtts',
          port: 8884,
          host: '127.0.0.1',
          name: 'mqtts:8884',
          tls: {
            cert: '/etc/pipit/tls/server.crt',
            key: '/etc/pipit/tls/server.key',
            ca: '/etc/pipit/ca.pem',
            minVersion: 'TLSv1.3',
            requireCertificate: true,
            identityFrom: 'san',
            useIdentityAsUsername: true,
          },
        },
        { type: 'ws', port: 8090, host: '127.0.0.1', name: 'ws:8090', path: '/ws' },
      ],
    );
    const [pub, tls, ws] = plan.listeners.map((l) => l.auth);
    assert.deepEqual(pub, {
      allowAnonymous: false,
      allowAnonymousExplicit: true,
      identityAsUsername: false,
      passwordFile: '/etc/pipit/users.txt',
      aclFile: '/etc/pipit/public.acl',
      sources: {
        passwordFile: 'listeners[0].auth.passwordFile',
        aclFile: 'listeners[0].auth.aclFile',
      },
    });
    assert.equal(tls.identityAsUsername, true);
    assert.equal(tls.aclFile, '/etc/pipit/common.acl', 'the global aclFile is the default');
    assert.equal(ws.sources.aclFile, 'auth.aclFile');
  });

  it('without a file: one listener on 127.0.0.1:1883, anonymous allowed, sqlite in ./data, fsync', () => {
    const plan = configToPlan({}, CTX);
    assert.deepEqual(plan.listeners, [
      {
        listen: { type: 'mqtt', port: 1883, host: '127.0.0.1', name: 'mqtt:1883' },
        auth: {
          allowAnonymous: true,
          allowAnonymousExplicit: false,
          identityAsUsername: false,
          sources: { passwordFile: 'auth.passwordFile', aclFile: 'auth.aclFile' },
        },
      },
    ]);
    assert.deepEqual(plan.options, {
      persistence: { kind: 'sqlite', dataDir: '/home/op/data', durability: 'fsync' },
    });
    assert.equal(plan.hookTimeoutMs, 5000);
    assert.equal(plan.logLevel, 'info');
    assert.equal(plan.notices.length, 1);
    assert.match(plan.notices[0].message, /this machine only; to accept other machines/);
  });

  it('a non-loopback listener without a password file refuses anonymous clients unless told, and says so', () => {
    const plan = configToPlan(parseConfig('listeners:\n  - host: 0.0.0.0\n'), CTX);
    assert.equal(plan.listeners[0].auth.allowAnonymous, false);
    assert.deepEqual(
      plan.notices.map((n) => n.level),
      ['warn'],
    );
    assert.match(plan.notices[0].message, /anonymous clients are refused \(deny by default\)/);
    const open = configToPlan(
      parseConfig('listeners:\n  - host: 0.0.0.0\n    auth: { allowAnonymous: true }\n'),
      CTX,
    );
    assert.equal(open.listeners[0].auth.allowAnonymous, true);
    assert.match(open.notices[0].message, /lets anonymous clients publish and subscribe/);
  });

  it('a password file turns anonymous access off by default, even on loopback', () => {
    const plan = configToPlan(parseConfig('auth:\n  passwordFile: users.txt\n'), CTX);
    assert.equal(plan.listeners[0].auth.allowAnonymous, false);
    assert.equal(plan.listeners[0].auth.passwordFile, '/etc/pipit/users.txt');
  });

  it('the loopback notice asks for auth.passwordFile only while one is missing', () => {
    const without = configToPlan({}, CTX);
    assert.match(without.notices[0].message, /--host 0\.0\.0\.0\) with auth\.passwordFile/);
    const withFile = configToPlan(parseConfig('auth:\n  passwordFile: users.txt\n'), CTX);
    assert.equal(withFile.notices.length, 1);
    assert.match(withFile.notices[0].message, /^listening on this machine only/);
    assert.doesNotMatch(withFile.notices[0].message, /passwordFile/);
  });

  it('loopback covers 127.0.0.0/8, ::1 and localhost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '[::1]']) {
      const plan = configToPlan({ listeners: [{ host }] }, CTX);
      assert.equal(plan.listeners[0].auth.allowAnonymous, true, host);
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'broker.example']) {
      const plan = configToPlan({ listeners: [{ host }] }, CTX);
      assert.equal(plan.listeners[0].auth.allowAnonymous, false, host);
    }
  });

  it('the memory budget keys map to memoryBudget, maxQueuedMessagesTotal and v3SessionExpiry; bad values are named', () => {
    const plan = configToPlan(
      parseConfig(
        'limits:\n  memoryBudget: 512MiB\n  maxQueuedMessagesTotal: 100000\n  v3SessionExpiry: 3600\n',
      ),
      CTX,
    );
    assert.equal(plan.options.memoryBudget, 512 * 1024 * 1024);
    assert.equal(plan.options.maxQueuedMessagesTotal, 100000);
    assert.equal(plan.options.v3SessionExpiry, 3600);
    const unset = configToPlan({}, CTX).options;
    assert.equal(unset.memoryBudget, undefined, 'absent: createBroker sizes it to the machine');
    assert.throws(
      () => parseConfig('limits:\n  memoryBudget: 1KiB\n  v3SessionExpiry: -1\n'),
      (err: ConfigError) => {
        assert.equal(err.problems.length, 2);
        assert.match(
          err.problems[0]!,
          /^limits\.memoryBudget: expected a size in bytes of at least 1048576/,
        );
        assert.match(
          err.problems[1]!,
          /^limits\.v3SessionExpiry: expected a number of seconds 0-4294967295/,
        );
        return true;
      },
    );
  });

  it('storage.type memory maps to the memory store', () => {
    const plan = configToPlan(parseConfig('storage:\n  type: memory\n'), CTX);
    assert.deepEqual(plan.options.persistence, { kind: 'memory' });
  });

  it('storage.type redis maps to the Redis store: url, prefix, wait (timeout in seconds)', () => {
    const text =
      'storage:\n  type: redis\n  url: redis://:secret@10.0.0.5:6380/2\n  prefix: "edge:"\n  wait: { replicas: 1, timeout: 0.5 }\n';
    const plan = configToPlan(parseConfig(text), CTX);
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://:secret@10.0.0.5:6380/2',
      prefix: 'edge:',
      wait: { replicas: 1, timeoutMs: 500 },
    });
    const plain = configToPlan(parseConfig('storage:\n  type: redis\n  url: redis://h:1\n'), CTX);
    assert.deepEqual(plain.options.persistence, { kind: 'redis', url: 'redis://h:1' });
  });
});

describe('config: flags > environment > file', () => {
  const file = parseConfig(
    'listeners:\n  - port: 2000\n    host: 127.0.0.2\n  - port: 2001\nstorage:\n  dataDir: fromfile\nlog:\n  level: warn\n',
  );

  it('the file alone', () => {
    const plan = configToPlan(file, CTX);
    assert.equal(plan.listeners[0].listen.port, 2000);
    assert.equal(plan.listeners[0].listen.host, '127.0.0.2');
    assert.equal(plan.logLevel, 'warn');
    assert.deepEqual(plan.options.persistence, {
      kind: 'sqlite',
      dataDir: '/etc/pipit/fromfile',
      durability: 'fsync',
    });
  });

  it('environment variables override the file; port and host apply to the first listener', () => {
    const env = readEnvOverrides({
      PIPIT_PORT: '3000',
      PIPIT_HOST: '127.0.0.3',
      PIPIT_LOG_LEVEL: 'ERROR',
      PIPIT_DATA_DIR: 'fromenv',
    });
    const plan = configToPlan(file, { ...CTX, overrides: mergeOverrides({}, env) });
    assert.deepEqual(plan.listeners[0].listen, {
      type: 'mqtt',
      port: 3000,
      host: '127.0.0.3',
      name: 'mqtt:3000',
    });
    assert.equal(plan.listeners[1].listen.port, 2001);
    assert.equal(plan.logLevel, 'error');
    assert.deepEqual(plan.options.persistence, {
      kind: 'sqlite',
      dataDir: '/home/op/fromenv',
      durability: 'fsync',
    });
  });

  it('flags override environment variables', () => {
    const env = readEnvOverrides({
      PIPIT_PORT: '3000',
      PIPIT_LOG_LEVEL: 'error',
      PIPIT_DATA_DIR: 'e',
    });
    const flags = {
      port: 4000,
      logLevel: 'trace' as const,
      dataDir: '/srv/flag',
      memory: undefined,
    };
    const plan = configToPlan(file, { ...CTX, overrides: mergeOverrides(flags, env) });
    assert.equal(plan.listeners[0].listen.port, 4000);
    assert.equal(plan.logLevel, 'trace');
    assert.deepEqual(plan.options.persistence, {
      kind: 'sqlite',
      dataDir: '/srv/flag',
      durability: 'fsync',
    });
    const memory = configToPlan(file, { ...CTX, overrides: { memory: true } });
    assert.deepEqual(memory.options.persistence, { kind: 'memory' });
  });

  it('--host 0.0.0.0 makes the default listener deny anonymous clients', () => {
    const plan = configToPlan({}, { ...CTX, overrides: { host: '0.0.0.0' } });
    assert.equal(plan.listeners[0].auth.allowAnonymous, false);
  });

  it('bad environment values are named; empty ones are ignored', () => {
    assert.throws(
      () => readEnvOverrides({ PIPIT_PORT: 'abc', PIPIT_LOG_LEVEL: 'loud' }),
      (err: ConfigError) => {
        assert.deepEqual(err.problems, [
          'PIPIT_PORT: expected an integer 0-65535, got "abc"',
          'PIPIT_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        ]);
        return true;
      },
    );
    assert.deepEqual(readEnvOverrides({ PIPIT_PORT: '', PIPIT_HOST: ' ' }), {});
  });
});

describe('config: limits.outputStallTimeout', () => {
  it('maps seconds to outputStallTimeoutMs; 0 means never', () => {
    const options = (text: string) => configToPlan(parseConfig(text, 'p.yaml'), CTX).options;
    assert.equal(options('limits:\n  outputStallTimeout: 2.5\n').outputStallTimeoutMs, 2500);
    assert.equal(options('limits:\n  outputStallTimeout: 0\n').outputStallTimeoutMs, 0);
    assert.equal(options('limits: {}\n').outputStallTimeoutMs, undefined);
  });

  it('a negative or too long time is named with its key and line', () => {
    assert.throws(
      () => parseConfig('limits:\n  outputStallTimeout: -1\n', 'p.yaml'),
      (err: ConfigError) => {
        assert.deepEqual(err.problems, [
          'limits.outputStallTimeout: expected a number of seconds ≥ 0 (0 = never), got -1 (line 2)',
        ]);
        return true;
      },
    );
    assert.throws(() => parseConfig('limits:\n  outputStallTimeout: 100000\n', 'p.yaml'));
  });
});

describe('config: limits.qos0DrainWait', () => {
  it('maps seconds to qos0DrainWaitMs; 0 means never hold a publisher', () => {
    const options = (text: string) => configToPlan(parseConfig(text, 'p.yaml'), CTX).options;
    assert.equal(options('limits:\n  qos0DrainWait: 0.25\n').qos0DrainWaitMs, 250);
    assert.equal(options('limits:\n  qos0DrainWait: 0\n').qos0DrainWaitMs, 0);
    assert.equal(options('limits: {}\n').qos0DrainWaitMs, undefined);
  });

  it('a negative or too long wait is named with its key and line', () => {
    assert.throws(
      () => parseConfig('limits:\n  qos0DrainWait: -1\n', 'p.yaml'),
      (err: ConfigError) => {
        assert.deepEqual(err.problems, [
          'limits.qos0DrainWait: expected a number of seconds ≥ 0 (0 = never hold a publisher), got -1 (line 2)',
        ]);
        return true;
      },
    );
    assert.throws(() => parseConfig('limits:\n  qos0DrainWait: 61\n', 'p.yaml'));
  });
});

describe('config: cluster', () => {
  it('maps cluster: to BrokerOptions.cluster, --cluster replaces its url, and nothing without either', () => {
    const file = parseConfig(
      'cluster:\n  url: redis://10.0.0.5:6379\n  nodeId: 3\n  leaseMs: 5000\n  heartbeatMs: 1000\n',
    );
    assert.deepEqual(configToPlan(file, CTX).options.cluster, {
      url: 'redis://10.0.0.5:6379',
      nodeId: 3,
      leaseMs: 5000,
      heartbeatMs: 1000,
    });
    const flagged = configToPlan(file, {
      ...CTX,
      overrides: { cluster: 'redis://127.0.0.1:7000' },
    });
    assert.equal(flagged.options.cluster?.url, 'redis://127.0.0.1:7000');
    assert.equal(flagged.options.cluster?.nodeId, 3);
    assert.deepEqual(
      configToPlan({}, { ...CTX, overrides: { cluster: 'redis://h:1' } }).options.cluster,
      { url: 'redis://h:1' },
    );
    assert.equal(configToPlan({}, CTX).options.cluster, undefined);
  });
});

describe('config: the store of a cluster', () => {
  it('a cluster uses the Redis store on its Redis, under its key prefix, unless the file names memory or redis', () => {
    const file = parseConfig('cluster:\n  url: redis://10.0.0.5:6379\n  keyPrefix: "c1:"\n');
    assert.deepEqual(configToPlan(file, CTX).options.persistence, {
      kind: 'redis',
      url: 'redis://10.0.0.5:6379',
      prefix: 'c1:',
    });
    assert.deepEqual(
      configToPlan({}, { ...CTX, overrides: { cluster: 'redis://h:1' } }).options.persistence,
      { kind: 'redis', url: 'redis://h:1', prefix: 'pipit:' },
    );
    const memory = configToPlan(
      {},
      { ...CTX, overrides: { cluster: 'redis://h:1', memory: true } },
    );
    assert.deepEqual(memory.options.persistence, { kind: 'memory' });
    const other = parseConfig('storage:\n  type: redis\n  url: redis://store:6379\n');
    assert.deepEqual(
      configToPlan(other, { ...CTX, overrides: { cluster: 'redis://h:1' } }).options.persistence,
      { kind: 'redis', url: 'redis://store:6379' },
    );
  });

  it('refuses a cluster on SQLite (one file per node), naming the store and what to do', () => {
    const sqlite = parseConfig('storage:\n  type: sqlite\ncluster:\n  url: redis://h:1\n');
    assert.throws(
      () => configToPlan(sqlite, CTX),
      (err: ConfigError) => {
        assert.equal(err.problems.length, 1);
        assert.match(
          err.problems[0]!,
          /^storage: a cluster \(cluster\.url\) needs a store every node shares, and SQLite is one file per node/,
        );
        assert.match(err.problems[0]!, /set storage\.type to redis or memory/);
        return true;
      },
    );
    assert.throws(
      () => configToPlan({}, { ...CTX, overrides: { cluster: 'redis://h:1', dataDir: 'd' } }),
      /storage: a cluster \(--cluster\) needs a store every node shares/,
    );
  });
  it('cluster.advertise maps to BrokerOptions.cluster.advertise; a value without a port is named', () => {
    const file = parseConfig('cluster:\n  url: redis://h:1\n  advertise: node1.example:1883\n');
    assert.equal(configToPlan(file, CTX).options.cluster?.advertise, 'node1.example:1883');
    assert.throws(
      () => parseConfig('cluster:\n  url: redis://h:1\n  advertise: node1\n', 'p.yaml'),
      /cluster\.advertise: expected host:port where MQTT clients reach this node/,
    );
  });
});

describe('config: Redis Sentinel (cluster.sentinels/name, storage.sentinels/name)', () => {
  it('maps cluster.sentinels to host/port pairs for the cluster and its store, with the master name', () => {
    const file = parseConfig(
      'cluster:\n  url: redis://:secret@mymaster\n  sentinels: [10.0.0.1:26379, "s2.example:26380"]\n  name: main\n',
    );
    const plan = configToPlan(file, CTX);
    const sentinels = [
      { host: '10.0.0.1', port: 26379 },
      { host: 's2.example', port: 26380 },
    ];
    assert.deepEqual(plan.options.cluster?.sentinels, sentinels);
    assert.equal(plan.options.cluster?.name, 'main');
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://:secret@mymaster',
      prefix: 'pipit:',
      sentinels,
      name: 'main',
    });
  });

  it('maps storage.sentinels and storage.name for the Redis store', () => {
    const file = parseConfig(
      'storage:\n  type: redis\n  url: redis://mymaster\n  sentinels: [127.0.0.1:26379]\n',
    );
    assert.deepEqual(configToPlan(file, CTX).options.persistence, {
      kind: 'redis',
      url: 'redis://mymaster',
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
    });
  });

  it('names a sentinel that is not host:port, an empty list, and a master name without sentinels', () => {
    assert.throws(
      () => parseConfig('cluster:\n  url: redis://m\n  sentinels: [s1]\n', 'p.yaml'),
      /cluster\.sentinels\[0\]: expected host:port of a sentinel/,
    );
    assert.throws(
      () => parseConfig('cluster:\n  url: redis://m\n  sentinels: []\n', 'p.yaml'),
      /cluster\.sentinels: expected at least one sentinel \(host:port\)/,
    );
    assert.throws(
      () => parseConfig('cluster:\n  url: redis://m\n  name: mymaster\n', 'p.yaml'),
      /cluster\.name: the Sentinel master name needs cluster\.sentinels/,
    );
    assert.throws(
      () => parseConfig('storage:\n  type: redis\n  url: redis://m\n  name: mymaster\n', 'p.yaml'),
      /storage\.name: the Sentinel master name needs storage\.sentinels/,
    );
    assert.throws(
      () => parseConfig('storage:\n  type: memory\n  sentinels: [h:1]\n', 'p.yaml'),
      /storage\.sentinels: only for storage type redis/,
    );
  });
});
