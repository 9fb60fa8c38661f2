/**
 * Test certificates made with the real `openssl` command in a temp dir: a CA, server
 * certificates for 127.0.0.1/localhost, client certificates (good, expired, from another
 * CA). EC P-256 keys keep generation fast. Call once per test file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as paths and PEM text. */
export interface CertPair {
  cert: string;
  key: string;
  certPem: Buffer;
  keyPem: Buffer;
}

/** Everything a TLS test needs. */
export interface TestCerts {
  dir: string;
  /** The test CA (signs the server and the good client certificates). */
  ca: CertPair;
  /** Server certificate for 127.0.0.1 and localhost. */
  server: CertPair;
  /** A second server certificate from the same CA (for reload tests). */
  server2: CertPair;
  /** Client certificate: CN=alice, SAN email:alice@example.org. */
  client: CertPair;
  /** Client certificate that expired in 2020 (same CA, CN=old-device). */
  expiredClient: CertPair;
  /** Another CA and a client certificate it signed (CN=mallory). */
  otherCa: CertPair;
  otherClient: CertPair;
  /** Removes the temp dir. */
  cleanup(): void;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
}

function pair(dir: string, name: string): CertPair {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) };
}

function makeCa(dir: string, name: string, cn: string): CertPair {
  openssl(dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '30',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair(dir, name);
}

/** Issues a leaf certificate with `openssl ca`, which also takes explicit (past) dates. */
function issue(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  extensions: string,
  dates: { start?: string; end?: string } = {},
): CertPair {
  openssl(dir, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), `[ext]\n${extensions}\n`);
  writeFileSync(join(dir, `${ca}.index`), '');
  writeFileSync(join(dir, `${ca}.cnf`), caConfig(ca));
  const range =
    dates.start && dates.end ? ['-startdate', dates.start, '-enddate', dates.end] : ['-days', '30'];
  openssl(dir, [
    'ca',
    '-batch',
    '-notext',
    '-config',
    `${ca}.cnf`,
    '-extfile',
    `${name}.ext`,
    '-extensions',
    'ext',
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
    ...range,
  ]);
  return pair(dir, name);
}

function caConfig(ca: string): string {
  return [
    '[ca]',
    'default_ca = local',
    '[local]',
    `certificate = ${ca}.crt`,
    `private_key = ${ca}.key`,
    `database = ${ca}.index`,
    'new_certs_dir = .',
    'rand_serial = yes',
    'default_md = sha256',
    'unique_subject = no',
    'policy = any',
    'copy_extensions = none',
    '[any]',
    'commonName = supplied',
    '',
  ].join('\n');
}

const SERVER_EXT = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,DNS:localhost',
].join('\n');

const CLIENT_EXT = (san: string): string =>
  [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
    ...(san ? [`subjectAltName=${san}`] : []),
  ].join('\n');

/** Generates the whole set in a fresh temp dir. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'pipit-certs-'));
  try {
    const ca = makeCa(dir, 'ca', 'Pipit Test CA');
    const otherCa = makeCa(dir, 'other-ca', 'Other Test CA');
    return {
      dir,
      ca,
      server: issue(dir, 'ca', 'server', 'localhost', SERVER_EXT),
      server2: issue(dir, 'ca', 'server2', 'localhost', SERVER_EXT),
      client: issue(dir, 'ca', 'client', 'alice', CLIENT_EXT('email:alice@example.org')),
      expiredClient: issue(dir, 'ca', 'expired', 'old-device', CLIENT_EXT(''), {
        start: '20200101000000Z',
        end: '20200201000000Z',
      }),
      otherCa,
      otherClient: issue(dir, 'other-ca', 'other-client', 'mallory', CLIENT_EXT('')),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
