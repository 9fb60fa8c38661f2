/**
 * The mqtts listener over real TLS with MQTT.js: server certificates, mutual TLS, the
 * certificate identity as username, refused client certificates and reloading from disk.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { IClientOptions } from 'mqtt';
import type { TlsOptions } from '../../src/broker.js';
import { createBroker } from '../../src/index.js';
import { connectClient, endClient, nextMessages } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { expectRefused, recordingBroker, roundTrip } from './helpers.js';

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.cleanup());

function serverTls(extra: Partial<TlsOptions> = {}): TlsOptions {
  return { cert: certs.server.cert, key: certs.server.key, ...extra };
}

function clientTls(pair?: { certPem: Buffer; keyPem: Buffer }): Record<string, unknown> {
  return {
    ca: certs.ca.certPem,
    rejectUnauthorized: true,
    ...(pair && { cert: pair.certPem, key: pair.keyPem }),
  };
}

/** The SHA-256 fingerprint of the certificate a server presents to a fresh handshake. */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca.certPem }, () => {
      const { fingerprint256 } = socket.getPeerCertificate();
      socket.destroy();
      resolve(fingerprint256);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
  });
}

describe('mqtts listener', () => {
  test('MQTT.js connects over TLS, publishes and subscribes (v3.1.1 and v5)', async () => {
    const broker = createBroker();
    try {
      const address = await broker.listen({ type: 'mqtts', port: 0, tls: serverTls() });
      assert.equal(address.protocol, 'mqtts');
      assert.equal(address.url, `mqtts://127.0.0.1:${address.port}`);
      for (const protocolVersion of [4, 5] as const) {
        const got = await roundTrip(address.url, { ...clientTls(), protocolVersion });
        assert.equal(got, 'hello over mqtts');
      }
    } finally {
      await broker.close();
    }
  });

  test('a client that does not trust the server certificate fails the handshake', async () => {
    const broker = createBroker();
    try {
      const { url } = await broker.listen({ type: 'mqtts', port: 0, tls: serverTls() });
      const outcome = await expectRefused(url, { ca: certs.otherCa.certPem });
      assert.match(outcome, /self.signed|unable to (get|verify)|certificate/i);
    } finally {
      await broker.close();
    }
  });

  test('minVersion TLSv1.3 refuses a TLSv1.2 client', async () => {
    const broker = createBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        tls: serverTls({ minVersion: 'TLSv1.3' }),
      });
      // MQTT.js hands unknown options on to tls.connect.
      const tls12 = { ...clientTls(), maxVersion: 'TLSv1.2' } as IClientOptions;
      const outcome = await expectRefused(url, tls12);
      assert.match(outcome, /version|protocol/i);
      assert.equal(await roundTrip(url, clientTls()), 'hello over mqtts');
    } finally {
      await broker.close();
    }
  });
});

describe('mutual TLS', () => {
  test('a good client certificate is accepted and its CN becomes the username', async () => {
    const { broker, seen } = recordingBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        name: 'secure',
        tls: serverTls({
          ca: certs.ca.cert,
          requireCertificate: true,
          useIdentityAsUsername: true,
        }),
      });
      const client = await connectClient(url, { ...clientTls(certs.client), username: 'typed' });
      await endClient(client);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.certificateIdentity, 'alice');
      assert.equal(seen[0]?.username, 'alice');
      assert.equal(seen[0]?.listener, 'secure');
    } finally {
      await broker.close();
    }
  });

  test('identityFrom san takes the subject alternative name; without useIdentityAsUsername the username stays', async () => {
    const { broker, seen } = recordingBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        tls: serverTls({ ca: certs.ca.cert, requireCertificate: true, identityFrom: 'san' }),
      });
      const client = await connectClient(url, { ...clientTls(certs.client), username: 'typed' });
      await endClient(client);
      assert.equal(seen[0]?.certificateIdentity, 'alice@example.org');
      assert.equal(seen[0]?.username, 'typed');
      assert.equal(seen[0]?.listener, 'tls');
    } finally {
      await broker.close();
    }
  });

  test('refuses a client without a certificate, with an expired one, or from another CA', async () => {
    const { broker, seen } = recordingBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        tls: serverTls({ ca: certs.ca.cert, requireCertificate: true }),
      });
      const missing = await expectRefused(url, clientTls());
      assert.match(missing, /certificate required|handshake failure|closed|ECONNRESET/i);
      const expired = await expectRefused(url, clientTls(certs.expiredClient));
      assert.match(expired, /certificate expired|closed|ECONNRESET/i);
      const foreign = await expectRefused(url, clientTls(certs.otherClient));
      assert.match(foreign, /unknown ca|closed|ECONNRESET/i);
      assert.equal(seen.length, 0, 'no CONNECT reached the broker');
    } finally {
      await broker.close();
    }
  });

  test('with a CA but no requireCertificate, clients without a certificate get no identity', async () => {
    const { broker, seen } = recordingBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        tls: serverTls({ ca: certs.ca.cert, useIdentityAsUsername: true }),
      });
      await endClient(await connectClient(url, { ...clientTls(), username: 'bob' }));
      await endClient(await connectClient(url, { ...clientTls(certs.client), username: 'bob' }));
      assert.deepEqual(
        seen.map((c) => [c.certificateIdentity, c.username]),
        [
          [undefined, 'bob'],
          ['alice', 'alice'],
        ],
      );
    } finally {
      await broker.close();
    }
  });

  test('requireCertificate without a ca file is a configuration error', async () => {
    const broker = createBroker();
    await assert.rejects(
      broker.listen({ type: 'mqtts', port: 0, tls: serverTls({ requireCertificate: true }) }),
      /requireCertificate needs a ca/,
    );
    await broker.close();
  });
});

describe('certificate files', () => {
  test('errors reading the certificate, key or CA name the file', async () => {
    const broker = createBroker();
    const missing = join(certs.dir, 'does-not-exist.crt');
    await assert.rejects(
      broker.listen({ type: 'mqtts', port: 0, tls: serverTls({ cert: missing }) }),
      (err: Error) => err.message.includes(missing) && /certificate/.test(err.message),
    );
    await assert.rejects(
      broker.listen({ type: 'mqtts', port: 0, tls: serverTls({ key: certs.server.cert }) }),
      (err: Error) =>
        err.message.includes(certs.server.cert) && /invalid TLS key/.test(err.message),
    );
    await assert.rejects(
      broker.listen({ type: 'wss', port: 0, tls: serverTls({ ca: certs.server.key }) }),
      (err: Error) => err.message.includes(certs.server.key) && /invalid TLS CA/.test(err.message),
    );
    await assert.rejects(
      broker.listen({ type: 'mqtts', port: 0, tls: serverTls({ key: certs.client.key }) }),
      (err: Error) =>
        err.message.includes(certs.server.cert) && err.message.includes(certs.client.key),
    );
    await broker.close();
  });

  test('reloadTls: the open connection keeps working and new handshakes get the new certificate', async () => {
    const dir = mkdtempSync(join(certs.dir, 'reload-'));
    const tls = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
    copyFileSync(certs.server.cert, tls.cert);
    copyFileSync(certs.server.key, tls.key);
    const broker = createBroker();
    try {
      const { url, port } = await broker.listen({ type: 'mqtts', port: 0, tls });
      const oldPrint = new X509Certificate(certs.server.certPem).fingerprint256;
      const newPrint = new X509Certificate(certs.server2.certPem).fingerprint256;
      assert.equal(await peerFingerprint(port), oldPrint);
      const client = await connectClient(url, clientTls());
      await client.subscribeAsync('reload/t', { qos: 1 });

      copyFileSync(certs.server2.cert, tls.cert);
      copyFileSync(certs.server2.key, tls.key);
      await broker.reloadTls();

      const got = nextMessages(client, 1);
      await client.publishAsync('reload/t', 'still here', { qos: 1 });
      assert.equal((await got)[0]?.payload.toString(), 'still here');
      assert.equal(client.connected, true);
      assert.equal(await peerFingerprint(port), newPrint);

      // A broken file is reported by name and the listener keeps the last good certificate.
      writeFileSync(tls.key, 'not a key');
      await assert.rejects(broker.reloadTls(), (err: Error) => err.message.includes(tls.key));
      assert.equal(await peerFingerprint(port), newPrint);
      await endClient(client);
    } finally {
      await broker.close();
    }
  });
});
