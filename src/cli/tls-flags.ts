/**
 * The TLS flags of `pub` and `sub`, as mosquitto_pub / mosquitto_sub read them, turned into
 * options for `tls.connect`:
 *
 *   --cafile f         trust the CA certificates in f (PEM)
 *   --capath d         trust the CA certificates of the PEM files in directory d
 *   --cert f --key f   present this client certificate (mutual TLS)
 *   --tls-version v    tlsv1.3, tlsv1.2 or tlsv1.1: the lowest version to accept
 *   --ciphers list     OpenSSL cipher list
 *   --insecure         do not check that the certificate names the host (the chain still is)
 *   --tls              Pipit's own: TLS, trusting Node's built-in CA list
 *
 * TLS is on with --cafile, --capath, --tls or an mqtts:// -L URL; the other TLS flags
 * without one of those are an error rather than silently unused.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import { UsageError } from './flag-values.js';

/** The TLS flags as commander hands them over. */
export interface TlsFlags {
  tls?: boolean;
  cafile?: string;
  capath?: string;
  cert?: string;
  key?: string;
  tlsVersion?: string;
  ciphers?: string;
  insecure?: boolean;
}

const VERSIONS: Readonly<Record<string, tls.SecureVersion>> = {
  'tlsv1.3': 'TLSv1.3',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.1': 'TLSv1.1',
};

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new UsageError(`${flag}: cannot read "${path}" (${why})`);
  }
}

/** Every PEM certificate in the regular files of `dir` (e.g. `ca.crt` and `c7fe8b2d.0`). */
function readCaPath(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new UsageError(`--capath: cannot read directory "${dir}" (${(err as Error).message})`);
  }
  const certs = names
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile() === true)
    .map((path) => readFileSync(path))
    .filter((bytes) => bytes.includes(PEM_CERTIFICATE));
  if (certs.length === 0) throw new UsageError(`--capath: no PEM certificate in "${dir}"`);
  return certs;
}

/**
 * The `tls.connect` options for the flags, or `undefined` when TLS is off.
 * `urlTls` is true for an mqtts:// -L URL.
 * @throws UsageError for an unreadable file or a flag that needs TLS when TLS is off.
 */
export function tlsOptionsFromFlags(
  f: TlsFlags,
  urlTls = false,
): tls.ConnectionOptions | undefined {
  const on = f.tls === true || urlTls || f.cafile !== undefined || f.capath !== undefined;
  if (!on) {
    const stray = (
      [
        ['--cert', f.cert],
        ['--key', f.key],
        ['--tls-version', f.tlsVersion],
        ['--ciphers', f.ciphers],
        ['--insecure', f.insecure],
      ] as const
    ).find(([, v]) => v !== undefined);
    if (stray) {
      throw new UsageError(`${stray[0]} needs TLS: add --cafile, --capath or --tls`);
    }
    return undefined;
  }
  if ((f.cert === undefined) !== (f.key === undefined)) {
    throw new UsageError('--cert and --key go together: give both or neither');
  }
  const options: tls.ConnectionOptions = {};
  const ca = [
    ...(f.cafile === undefined ? [] : [readFlagFile('--cafile', f.cafile)]),
    ...(f.capath === undefined ? [] : readCaPath(f.capath)),
  ];
  if (ca.length > 0) options.ca = ca;
  if (f.cert !== undefined) options.cert = readFlagFile('--cert', f.cert);
  if (f.key !== undefined) options.key = readFlagFile('--key', f.key);
  if (f.tlsVersion !== undefined) {
    const version = VERSIONS[f.tlsVersion.toLowerCase()];
    if (!version) {
      throw new UsageError(
        `--tls-version must be tlsv1.3, tlsv1.2 or tlsv1.1, got "${f.tlsVersion}"`,
      );
    }
    options.minVersion = version;
  }
  if (f.ciphers !== undefined) options.ciphers = f.ciphers;
  // The chain is still verified: only the match between host and certificate is skipped.
  if (f.insecure) options.checkServerIdentity = () => undefined;
  return options;
}
