import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  hashPassword,
  isSupportedHash,
  PBKDF2_ITERATIONS,
  parseHash,
  verifyPassword,
} from '../../src/hooks/password-hash.js';

// Written by the real `mosquitto_passwd` 2.0.11 (`-b`, default sha512-pbkdf2, and `-H sha512`).
const MOSQ7_ALICE =
  '$7$101$6CuiQHa9fWmTLPha$JZ+iz9uowWQOcx/j/OeebtGW4dnR0SV81279k0Sl894cQHE9vc/wlRIZbNP0U1py468hG3a0HrlhjopLaXz5CQ==';
const MOSQ7_BOB_UNICODE =
  '$7$101$aSrabGzEl9DuPJ3t$RBIFqAIL1i34NDBN/0PtcHLyc2JrKn9oqarzaye8x/1S2nXSNInXEj/BCPrAWNlQ8tS1hXE69wNGdadQxFXRiw==';
const MOSQ7_EMPTY =
  '$7$101$ZTSNhcs+QTWkC/Ly$OCCsUFFMKMbV7mrIwPZDbCgdKuDY07xksvE1w4sZcR6gxxrj4Xs4mGtEu4UgEnn9BxYKIV6V0ltG77531Vja4w==';
const MOSQ6_CAROL =
  '$6$NBDq6znm3sXn1SXb$Ua6OOIDW0D84RXl7xk5hBfQZzxp3VsBKPbYP2wXhoqMJAYj2B9LCCetmG5XUW9wFLHxcSbDw32n8ARSayYfMKw==';

/**
 * The `$6$` format, as Mosquitto's pw__digest computes it: `$6$` + base64(salt) + `$` +
 * base64(SHA-512(password UTF-8 bytes || salt bytes)), with a 12-byte salt.
 */
function mosquitto6(password: string, salt: Buffer): string {
  const hash = createHash('sha512').update(Buffer.from(password, 'utf8')).update(salt).digest();
  return `$6$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The `$7$` format: `$7$<iterations>$` + base64(salt) + `$` + base64(PBKDF2-HMAC-SHA512, 64 bytes). */
function mosquitto7(password: string, salt: Buffer, iterations: number): string {
  const key = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

describe('hashPassword / verifyPassword (Pipit format)', () => {
  test('round trip: the right password verifies, a wrong one does not', async () => {
    const encoded = await hashPassword('correct horse');
    assert.equal(await verifyPassword('correct horse', encoded), true);
    assert.equal(await verifyPassword('correct hors', encoded), false);
    assert.equal(await verifyPassword('', encoded), false);
  });

  test('the encoding is self-describing: scheme, iterations, 16-byte salt, 64-byte key', async () => {
    const encoded = await hashPassword('x');
    const m = /^\$pbkdf2-sha512\$i=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
    assert.ok(m, encoded);
    assert.equal(Number(m[1]), PBKDF2_ITERATIONS);
    assert.ok(PBKDF2_ITERATIONS >= 210_000);
    assert.equal(Buffer.from(m[2], 'base64').length, 16);
    assert.equal(Buffer.from(m[3], 'base64').length, 64);
  });

  test('the key is PBKDF2-HMAC-SHA512 of the UTF-8 password and the salt', async () => {
    const encoded = await hashPassword('pâté');
    const parsed = parseHash(encoded);
    assert.ok(parsed && parsed.kind === 'pbkdf2-sha512');
    const expected = pbkdf2Sync(
      Buffer.from('pâté', 'utf8'),
      parsed.salt,
      parsed.iterations,
      64,
      'sha512',
    );
    assert.deepEqual(parsed.hash, expected);
  });

  test('two hashes of the same password differ (random salt)', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
  });

  test('hashing runs off the event loop: an immediate callback runs before it resolves', async () => {
    let ranMeanwhile = false;
    setImmediate(() => {
      ranMeanwhile = true;
    });
    await hashPassword('x');
    assert.equal(ranMeanwhile, true);
  });
});

describe('verifyPassword with mosquitto_passwd formats', () => {
  test('$7$ vectors written by mosquitto_passwd 2.0.11', async () => {
    assert.equal(await verifyPassword('s3cret pass', MOSQ7_ALICE), true);
    assert.equal(await verifyPassword('s3cret pas', MOSQ7_ALICE), false);
    assert.equal(await verifyPassword('ünïcødé', MOSQ7_BOB_UNICODE), true);
    assert.equal(await verifyPassword('unicode', MOSQ7_BOB_UNICODE), false);
    assert.equal(await verifyPassword('', MOSQ7_EMPTY), true);
    assert.equal(await verifyPassword(' ', MOSQ7_EMPTY), false);
  });

  test('$6$ vector written by mosquitto_passwd -H sha512', async () => {
    assert.equal(await verifyPassword('hunter2', MOSQ6_CAROL), true);
    assert.equal(await verifyPassword('hunter3', MOSQ6_CAROL), false);
  });

  test('$6$ and $7$ vectors computed per the format with node:crypto', async () => {
    const salt = Buffer.from('000102030405060708090a0b', 'hex'); // 12 bytes, like Mosquitto
    const six = mosquitto6('p@ss', salt);
    assert.equal(await verifyPassword('p@ss', six), true);
    assert.equal(await verifyPassword('p@sS', six), false);
    const seven = mosquitto7('p@ss', salt, 1000);
    assert.equal(await verifyPassword('p@ss', seven), true);
    assert.equal(await verifyPassword('p@s', seven), false);
  });

  describe('against the real mosquitto_passwd, generated now', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipit-mosqpw-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    function mosquittoHash(algorithm: 'sha512' | 'sha512-pbkdf2', password: string): string {
      const file = join(dir, `${algorithm}.txt`);
      execFileSync('mosquitto_passwd', ['-H', algorithm, '-c', '-b', file, 'u', password], {
        timeout: 10_000,
      });
      const line = readFileSync(file, 'utf8').trim();
      assert.ok(line.startsWith('u:'), line);
      return line.slice(2);
    }

    test('-H sha512-pbkdf2 writes $7$, which verifies', async () => {
      const encoded = mosquittoHash('sha512-pbkdf2', 'fresh-7 pw');
      assert.match(encoded, /^\$7\$\d+\$/);
      assert.equal(await verifyPassword('fresh-7 pw', encoded), true);
      assert.equal(await verifyPassword('fresh-7 pW', encoded), false);
    });

    test('-H sha512 writes $6$, which verifies', async () => {
      const encoded = mosquittoHash('sha512', 'fresh-6 pw');
      assert.match(encoded, /^\$6\$/);
      assert.equal(await verifyPassword('fresh-6 pw', encoded), true);
      assert.equal(await verifyPassword('fresh-6', encoded), false);
    });
  });
});

describe('malformed and unknown hashes verify as false', () => {
  const key = Buffer.alloc(64, 7).toString('base64');
  const salt = Buffer.alloc(12, 1).toString('base64');
  const cases: Array<[string, string]> = [
    ['plain text', 'hunter2'],
    ['empty', ''],
    ['unknown scheme', `$5$${salt}$${key}`],
    ['bcrypt', '$2b$10$abcdefghijklmnopqrstuuJ6v3lE3z0X2mQ9iK0m8yP8nZ1aB2cC'],
    ['$6$ missing hash', `$6$${salt}`],
    ['$6$ short digest', `$6$${salt}$${Buffer.alloc(32).toString('base64')}`],
    ['$6$ bad base64', `$6$${salt}$not*base64`],
    ['$7$ zero iterations', `$7$0$${salt}$${key}`],
    ['$7$ absurd iterations', `$7$99999999999$${salt}$${key}`],
    ['$7$ non-numeric iterations', `$7$abc$${salt}$${key}`],
    ['$7$ empty salt', `$7$10$$${key}`],
    ['pbkdf2 without i=', `$pbkdf2-sha512$1000$${salt}$${key}`],
    ['pbkdf2 extra field', `$pbkdf2-sha512$i=1000$${salt}$${key}$x`],
  ];
  for (const [name, encoded] of cases) {
    test(name, async () => {
      assert.equal(isSupportedHash(encoded), false);
      assert.equal(await verifyPassword('hunter2', encoded), false);
    });
  }
});
