/**
 * TLS cipher suites of the mqtts listener. With an RSA certificate (static RSA key exchange
 * is only possible with one): a TLS 1.2 client that offers only static-RSA or CBC-SHA1
 * suites fails its handshake, while ECDHE with AEAD over TLS 1.2 and TLS 1.3 connect; with
 * `ciphers` set to allow a static-RSA suite, the same client connects (so the refusal is the
 * default's doing, not the client's). `openssl s_client` checks the same as an independent
 * peer.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type Broker, createBroker } from '../../src/index.js';
import { MODERN_TLS_CIPHERS } from '../../src/transport/tls-context.js';

let dir: string;
let rsa: { cert: string; key: string };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipit-rsa-'));
  rsa = { cert: join(dir, 'rsa.crt'), key: join(dir, 'rsa.key') };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      rsa.key,
      '-out',
      rsa.cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Handshakes with these client options; resolves with the suite agreed, or `failed: ...`. */
function handshake(port: number, options: { ciphers?: string; maxVersion?: 'TLSv1.2' }) {
  return new Promise<string>((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.once('secureConnect', () => {
      resolve(socket.getCipher().standardName ?? socket.getCipher().name);
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      resolve(`failed: ${err.code ?? err.message}`),
    );
  });
}

/** `openssl s_client` with these arguments; resolves with whether a handshake completed. */
function sClient(port: number, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
      { timeout: 10_000, input: '' } as never,
      (_err, stdout) => resolve(/Cipher is (?!\(NONE\))/.test(String(stdout))),
    ).stdin?.end();
  });
}

const STATIC_RSA = ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA'];
const CBC_SHA1 = ['ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA'];

describe('TLS ciphers', () => {
  let broker: Broker;
  let port: number;
  before(async () => {
    broker = createBroker();
    ({ port } = await broker.listen({ type: 'mqtts', port: 0, tls: rsa }));
  });
  after(() => broker.close());

  test('the default: no static RSA key exchange, no CBC, no SHA-1; TLS 1.3 suites kept', () => {
    const suites = MODERN_TLS_CIPHERS.split(':');
    assert.ok(suites.includes('TLS_AES_128_GCM_SHA256'));
    for (const suite of suites) {
      assert.match(suite, /^(TLS_|ECDHE-)/, `${suite}: TLS 1.3 or ECDHE key exchange`);
      assert.match(suite, /GCM|CHACHA20_POLY1305|CHACHA20-POLY1305/, `${suite}: an AEAD`);
      assert.doesNotMatch(suite, /CBC|-SHA$/, `${suite}: no CBC, no SHA-1 MAC`);
    }
  });

  test('a TLS 1.2 client offering only static-RSA or CBC-SHA1 suites fails its handshake', async () => {
    for (const cipher of [...STATIC_RSA, ...CBC_SHA1]) {
      const result = await handshake(port, { ciphers: cipher, maxVersion: 'TLSv1.2' });
      assert.match(result, /^failed/, `${cipher}: ${result}`);
    }
    assert.match(
      await handshake(port, {
        ciphers: STATIC_RSA.concat(CBC_SHA1).join(':'),
        maxVersion: 'TLSv1.2',
      }),
      /^failed/,
    );
  });

  test('modern clients connect: ECDHE with AEAD over TLS 1.2, and TLS 1.3', async () => {
    assert.equal(
      await handshake(port, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }),
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    );
    assert.equal(
      await handshake(port, { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', maxVersion: 'TLSv1.2' }),
      'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    );
    assert.match(await handshake(port, {}), /^TLS_AES_|^TLS_CHACHA20/);
  });

  test('openssl s_client agrees: AES128-SHA refused, ECDHE-RSA-AES128-GCM-SHA256 served', async () => {
    assert.equal(await sClient(port, ['-tls1_2', '-cipher', 'AES128-SHA']), false);
    assert.equal(await sClient(port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']), true);
  });

  test('`ciphers` replaces the default: a listener that allows AES128-SHA serves that client', async () => {
    const legacy = createBroker();
    try {
      const { port: legacyPort } = await legacy.listen({
        type: 'mqtts',
        port: 0,
        tls: { ...rsa, ciphers: `${MODERN_TLS_CIPHERS}:AES128-SHA` },
      });
      assert.equal(
        await handshake(legacyPort, { ciphers: 'AES128-SHA', maxVersion: 'TLSv1.2' }),
        'TLS_RSA_WITH_AES_128_CBC_SHA',
      );
    } finally {
      await legacy.close();
    }
  });
});
