import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createBroker } from '../../src/broker.js';
import {
  configToPlan,
  parseConfig,
  toHttpListenerOptions,
  toListenerOptions,
} from '../../src/config/index.js';
import { hashPassword } from '../../src/hooks/password-hash.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { configProblems as problems } from './config-problems.js';
import { tempDir } from './fixtures.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('config: the http listener', () => {
  it('defaults to 127.0.0.1:8088, named http:8088, kept apart from the MQTT listeners', () => {
    const plan = configToPlan(parseConfig('listeners:\n  - type: http\n  - port: 1884\n'), {
      ...CTX,
      overrides: { port: 1999 },
    });
    assert.deepEqual(plan.httpListeners, [
      { type: 'http', port: 8088, host: '127.0.0.1', name: 'http:8088' },
    ]);
    // --port goes to the first MQTT listener, even when an http one comes first.
    assert.deepEqual(
      plan.listeners.map((l) => toListenerOptions(l.listen)),
      [{ type: 'mqtt', port: 1999, host: '127.0.0.1', name: 'mqtt:1999' }],
    );
    assert.deepEqual(toHttpListenerOptions(plan.httpListeners[0]!), {
      type: 'http',
      port: 8088,
      host: '127.0.0.1',
      name: 'http:8088',
    });
  });

  it('maps https with its TLS files, the body cap and the request timeout', () => {
    const text = [
      'listeners:',
      '  - port: 1883',
      '  - type: https',
      '    name: ops',
      '    host: 0.0.0.0',
      '    maxBodySize: 64KiB',
      '    requestTimeout: 2.5',
      '    maxConnections: 20',
      '    tls:',
      '      cert: tls/ops.crt',
      '      key: tls/ops.key',
      '',
    ].join('\n');
    const plan = configToPlan(parseConfig(text), CTX);
    assert.deepEqual(toHttpListenerOptions(plan.httpListeners[0]!), {
      type: 'https',
      port: 8443,
      host: '0.0.0.0',
      name: 'ops',
      maxConnections: 20,
      maxBodyBytes: 65536,
      requestTimeoutMs: 2500,
      tls: { cert: '/etc/pipit/tls/ops.crt', key: '/etc/pipit/tls/ops.key' },
    });
    const warning = plan.notices.find((n) => n.message.includes('listener ops'));
    assert.equal(warning?.level, 'warn');
    assert.match(
      warning?.message ?? '',
      /serves \/metrics and health checks to other machines without authentication/,
    );
  });

  it('maps the connection caps, the headers and keep-alive timeouts and the header cap', () => {
    const text = [
      'listeners:',
      '  - port: 1883',
      '  - type: http',
      '    maxConnections: 100',
      '    maxConnectionsPerAddress: 8',
      '    headersTimeout: 1.5',
      '    keepAliveTimeout: 2',
      '    maxHeaderSize: 8KiB',
      '',
    ].join('\n');
    const plan = configToPlan(parseConfig(text), CTX);
    assert.deepEqual(toHttpListenerOptions(plan.httpListeners[0]!), {
      type: 'http',
      port: 8088,
      host: '127.0.0.1',
      name: 'http:8088',
      maxConnections: 100,
      maxConnectionsPerAddress: 8,
      headersTimeoutMs: 1500,
      keepAliveTimeoutMs: 2000,
      maxHeaderBytes: 8192,
    });
  });

  it('maps the metrics section to the broker option', () => {
    const plan = configToPlan(
      parseConfig('listeners:\n  - port: 1883\nmetrics:\n  process: true\n  handles: true\n'),
      CTX,
    );
    assert.deepEqual(plan.options.metrics, { process: true, handles: true });
    assert.equal(
      configToPlan(parseConfig('listeners:\n  - port: 1883\n'), CTX).options.metrics,
      undefined,
    );
  });

  const refused: [string, string, string[]][] = [
    [
      'an https listener without tls',
      'listeners:\n  - port: 1883\n  - type: https\n',
      [
        'listeners[1].tls.cert: required for a listener of type https (line 3)',
        'listeners[1].tls.key: required for a listener of type https (line 3)',
      ],
    ],
    [
      'tls on a plain http listener',
      'listeners:\n  - port: 1883\n  - type: http\n    tls:\n      cert: a\n      key: b\n',
      [
        'listeners[1].tls: only allowed on mqtts, wss and https listeners (this one is http) (line 4)',
      ],
    ],
    [
      'auth on an http listener',
      'listeners:\n  - port: 1883\n  - type: http\n    auth:\n      allowAnonymous: true\n',
      [
        'listeners[1].auth: not allowed on http listeners: they serve metrics and health checks, not MQTT clients (line 4)',
      ],
    ],
    [
      'a WebSocket path on an http listener',
      'listeners:\n  - port: 1883\n  - type: http\n    path: /metrics\n',
      ['listeners[1].path: only allowed on ws and wss listeners (this one is http) (line 4)'],
    ],
    [
      'maxBodySize on an MQTT listener',
      'listeners:\n  - port: 1883\n    maxBodySize: 1MiB\n',
      [
        'listeners[0].maxBodySize: only allowed on http and https listeners (this one is mqtt) (line 3)',
      ],
    ],
    [
      'HTTP-only keys on an MQTT listener',
      'listeners:\n  - port: 1883\n    maxConnectionsPerAddress: 5\n    headersTimeout: 2\n    keepAliveTimeout: 2\n    maxHeaderSize: 4KiB\n',
      [
        'listeners[0].maxConnectionsPerAddress: only allowed on http and https listeners (this one is mqtt) (line 3)',
        'listeners[0].headersTimeout: only allowed on http and https listeners (this one is mqtt) (line 4)',
        'listeners[0].keepAliveTimeout: only allowed on http and https listeners (this one is mqtt) (line 5)',
        'listeners[0].maxHeaderSize: only allowed on http and https listeners (this one is mqtt) (line 6)',
      ],
    ],
    [
      'a metrics switch that is not a boolean, and an unknown one',
      'listeners:\n  - port: 1883\nmetrics:\n  handles: yes\n  gc: false\n',
      [
        'metrics.handles: expected true or false, got "yes" (line 4)',
        'metrics.gc: unknown key (expected one of process, handles) (line 5)',
      ],
    ],
    [
      'a header cap that is not a size from 1KiB to 1MiB',
      'listeners:\n  - port: 1883\n  - type: http\n    maxHeaderSize: 100\n',
      [
        'listeners[1].maxHeaderSize: expected a size in bytes 1024-1048576 (a number or a string like "64KiB", "1MiB"), got 100 (line 4)',
      ],
    ],
    [
      'a request timeout that is not a positive number of seconds',
      'listeners:\n  - port: 1883\n  - type: http\n    requestTimeout: 0\n',
      [
        'listeners[1].requestTimeout: expected a number of seconds greater than 0, at most 3600, got 0 (line 4)',
      ],
    ],
    [
      'a body cap that is not a size',
      'listeners:\n  - port: 1883\n  - type: http\n    maxBodySize: lots\n',
      [
        'listeners[1].maxBodySize: expected a size in bytes 1-1073741824 (a number or a string like "64KiB", "1MiB"), got "lots" (line 4)',
      ],
    ],
    [
      'only http listeners',
      'listeners:\n  - type: http\n',
      [
        'listeners: needs at least one MQTT listener (mqtt, mqtts, ws or wss) besides http ones (line 1)',
      ],
    ],
    [
      'two http listeners with one name',
      'listeners:\n  - port: 1883\n  - type: http\n  - type: http\n',
      [
        'listeners[2].name: duplicate listener name "http:8088" (also listeners[1]); give each listener its own name (line 4)',
      ],
    ],
  ];
  for (const [what, text, expected] of refused) {
    it(`refuses ${what}, naming the key`, () => {
      assert.deepEqual(problems(text), expected);
    });
  }
});

/** Starts `pipit broker --config <file>` and resolves with the log once it listens twice. */
async function startCli(file: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [cliEntry(), 'broker', '--config', file, '--memory'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 15000);
    const check = (): void => {
      if (out.split('"msg":"listening"').length - 1 >= 2) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`broker exited:\n${out}`)));
  });
  return { child, output: () => out };
}

describe('config: an http listener from a configuration file', () => {
  it('pipit broker serves /metrics, /healthz and /readyz on it', async () => {
    const dir = await tempDir();
    try {
      const file = await dir.write(
        'pipit.yaml',
        'listeners:\n  - type: http\n    port: 0\n    name: ops\n  - port: 0\n',
      );
      const { child, output } = await startCli(file);
      const url = /"address":"(http:\/\/127\.0\.0\.1:\d+)","listener":"ops"/.exec(output())?.[1];
      assert.ok(url, `no http address in:\n${output()}`);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, await ready.clone().text());
      const metrics = parseExposition(await (await fetch(`${url}/metrics`)).text());
      assert.equal(metrics.families.get('pipit_connections')?.type, 'gauge');
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.equal((await exited)[0], 0);
    } finally {
      await dir.remove();
    }
  });

  it('pipit broker serves the admin API on it: the configured token reads, no token gets 401', async () => {
    const dir = await tempDir();
    try {
      const token = 'pipit_test-token-for-the-cli';
      const file = await dir.write(
        'pipit.yaml',
        [
          'listeners:',
          '  - type: http',
          '    port: 0',
          '    name: ops',
          '  - port: 0',
          'adminApi:',
          '  tokens:',
          `    - { name: ci, hash: '${await hashPassword(token)}', scope: read }`,
          '',
        ].join('\n'),
      );
      const { child, output } = await startCli(file);
      const url = /"address":"(http:\/\/127\.0\.0\.1:\d+)","listener":"ops"/.exec(output())?.[1];
      assert.ok(url, `no http address in:\n${output()}`);
      const anonymous = await fetch(`${url}/api/v1/counters`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
      const counters = await fetch(`${url}/api/v1/counters`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(counters.status, 200, await counters.clone().text());
      const body = (await counters.json()) as { connectionsCurrent?: number };
      assert.equal(typeof body.connectionsCurrent, 'number');
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.equal((await exited)[0], 0);
    } finally {
      await dir.remove();
    }
  });

  it('a broker built from the plan listens on it like on the MQTT listeners', async () => {
    const plan = configToPlan(
      parseConfig('listeners:\n  - port: 0\n  - type: http\n    port: 0\n    maxBodySize: 10\n'),
      { ...CTX, overrides: { memory: true } },
    );
    const broker = createBroker({ store: undefined });
    try {
      for (const { listen } of plan.listeners) await broker.listen(toListenerOptions(listen));
      const [spec] = plan.httpListeners;
      const http = await broker.listen(toHttpListenerOptions(spec!));
      assert.equal(http.protocol, 'http');
      const res = await fetch(`${http.url}/metrics`, {
        method: 'POST',
        body: 'more than ten bytes',
      });
      assert.equal(res.status, 413);
    } finally {
      await broker.close();
    }
  });
});
