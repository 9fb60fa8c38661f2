/**
 * A custom (asynchronous) auth hook next to the built-in ones: it decides for users the
 * password file does not know, and a hung one is cut off by auth.hookTimeoutMs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions } from 'mqtt';
import type { AuthenticateRequest, Hook, Verdict } from '../../src/core/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectClient, endClient } from '../helpers/broker.js';

function refusal(url: string, options: IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10000, ...options });
    client.once('connect', () => {
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? -1);
    });
  });
}

describe('auth over TCP: custom hooks', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;
  const asked: string[] = [];
  /** An "auth service": knows `svc`, hangs forever for `hang`, rejects for `boom`. */
  const service: Hook = {
    name: 'auth-service',
    authenticate(request: AuthenticateRequest): Promise<Verdict> {
      const user = request.client.username ?? '';
      asked.push(user);
      if (user === 'hang') return new Promise(() => {});
      if (user === 'boom') return Promise.reject(new Error('service down'));
      return Promise.resolve(
        user === 'svc' && request.password?.toString() === 'ok' ? 'allow' : 'defer',
      );
    },
  };

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'wonderland' }));
    server = await startConfigured(
      'auth:\n  passwordFile: users.txt\n  hookTimeoutMs: 200\n',
      tmp.dir,
      [service],
    );
  });

  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it('the password file still decides for its users (the service is not asked)', async () => {
    asked.length = 0;
    const alice = await connectClient(server.urls[0], {
      username: 'alice',
      password: 'wonderland',
      protocolVersion: 5,
    });
    await endClient(alice);
    assert.equal(
      await refusal(server.urls[0], { username: 'alice', password: 'bad', protocolVersion: 5 }),
      0x86,
    );
    assert.deepEqual(asked, []);
  });

  it('users unknown to the file are deferred to the custom hook', async () => {
    const svc = await connectClient(server.urls[0], {
      username: 'svc',
      password: 'ok',
      protocolVersion: 5,
    });
    assert.equal(svc.connected, true);
    await endClient(svc);
    assert.equal(
      await refusal(server.urls[0], { username: 'nobody', password: 'x', protocolVersion: 5 }),
      0x86,
    );
  });

  it('a hung hook times out and the client is refused (v5 0x87, v3.1.1 0x05)', async () => {
    assert.equal(
      await refusal(server.urls[0], { username: 'hang', password: 'x', protocolVersion: 5 }),
      0x87,
    );
    assert.equal(
      await refusal(server.urls[0], { username: 'hang', password: 'x', protocolVersion: 4 }),
      0x05,
    );
  });

  it('a failing hook refuses the client too', async () => {
    assert.equal(
      await refusal(server.urls[0], { username: 'boom', password: 'x', protocolVersion: 5 }),
      0x87,
    );
  });
});
