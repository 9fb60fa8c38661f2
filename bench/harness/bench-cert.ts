/**
 * The self-signed certificate the comparison's TLS and WebSocket-over-TLS listeners serve,
 * made with the real `openssl` command. The load generator trusts exactly this certificate
 * (it is its own CA), so every handshake is verified as a real client would verify it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key, as files (for the brokers) and PEM (for the client). */
export interface BenchCert {
  certFile: string;
  keyFile: string;
  certPem: Buffer;
}

/**
 * Writes `bench.crt` and `bench.key` into `dir`: EC P-256 (cheap to make, and the usual
 * choice for MQTT devices), valid two days, for 127.0.0.1 and localhost.
 */
export function makeBenchCert(dir: string): BenchCert {
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
  );
  // Started as root, Mosquitto drops to its own user before it reads these: let it. The key
  // is a throwaway for loopback benchmarks, removed with the directory.
  chmodSync(dir, 0o755);
  chmodSync(keyFile, 0o644);
  return { certFile, keyFile, certPem: readFileSync(certFile) };
}
