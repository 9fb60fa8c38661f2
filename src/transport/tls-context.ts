/**
 * TLS settings shared by the mqtts and wss listeners: reading the PEM files (errors name
 * the file), the server options for mutual TLS, and the client certificate identity.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TlsOptions as NodeTlsOptions, SecureContextOptions, TLSSocket } from 'node:tls';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';

/** TLS settings of an mqtts or wss listener. */
export interface TlsOptions {
  /** Path to the PEM certificate (chain). */
  cert: string;
  /** Path to the PEM private key. */
  key: string;
  /** Path to a PEM CA bundle that client certificates must chain to. */
  ca?: string;
  /** Lowest TLS version accepted; default TLSv1.2. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Mutual TLS: refuse clients without a valid certificate (needs `ca`). */
  requireCertificate?: boolean;
  /** Which part of the client certificate is its identity; default 'cn'. */
  identityFrom?: 'cn' | 'san';
  /** The identity becomes the username that hooks see. */
  useIdentityAsUsername?: boolean;
  /**
   * Cipher suites, an OpenSSL cipher list (TLS 1.3 suites by their `TLS_` names in the same
   * string; without any, TLS 1.3 is off). Default {@link MODERN_TLS_CIPHERS}.
   */
  ciphers?: string;
}

/**
 * TLS 1.2 suites of the default: ECDHE key exchange (forward secrecy) with an AEAD cipher
 * only, for ECDSA and RSA certificates. Left out: static RSA key exchange (no forward
 * secrecy, ROBOT-style oracles), CBC modes (Lucky13-style padding oracles) and SHA-1 MACs,
 * finite-field DHE. Current TLS stacks offer these; a listener for old devices that only
 * speak static-RSA CBC suites (axTLS on early ESP8266 firmware) can set `ciphers`.
 */
const MODERN_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/**
 * The default `ciphers` of TLS listeners: Node's TLS 1.3 suites (those of its default list,
 * all AEAD) followed by {@link MODERN_TLS12_CIPHERS}.
 */
export const MODERN_TLS_CIPHERS = [
  ...DEFAULT_CIPHERS.split(':').filter((suite) => suite.startsWith('TLS_')),
  ...MODERN_TLS12_CIPHERS,
].join(':');

/** An error about a TLS setting, naming the file concerned. */
export class TlsConfigError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

async function readPem(kind: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new TlsConfigError(
      `cannot read TLS ${kind} file ${path}: ${(err as Error).message}`,
      path,
    );
  }
}

function check(kind: string, path: string, parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    throw new TlsConfigError(`invalid TLS ${kind} file ${path}: ${(err as Error).message}`, path);
  }
}

/**
 * Reads and checks the certificate, key and CA files, so each mistake names its file
 * (Node's own errors, like "no start line", do not say which file).
 */
export async function loadSecureContextOptions(tls: TlsOptions): Promise<SecureContextOptions> {
  const [cert, key, ca] = await Promise.all([
    readPem('certificate', tls.cert),
    readPem('key', tls.key),
    tls.ca === undefined ? undefined : readPem('CA', tls.ca),
  ]);
  check('certificate', tls.cert, () => new X509Certificate(cert));
  check('key', tls.key, () => createPrivateKey(key));
  if (ca !== undefined && tls.ca !== undefined) check('CA', tls.ca, () => new X509Certificate(ca));
  const ciphers = tls.ciphers ?? MODERN_TLS_CIPHERS;
  checkCiphers(ciphers);
  const options: SecureContextOptions = {
    cert,
    key,
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ciphers,
    ...(ca === undefined ? {} : { ca }),
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TlsConfigError(
      `TLS certificate ${tls.cert} and key ${tls.key} cannot be used together: ${(err as Error).message}`,
      tls.cert,
    );
  }
  return options;
}

/** Throws a TlsConfigError when OpenSSL knows none of the suites in `ciphers`. */
function checkCiphers(ciphers: string): void {
  try {
    createSecureContext({ ciphers });
  } catch (err) {
    throw new TlsConfigError(`invalid TLS ciphers "${ciphers}": ${(err as Error).message}`);
  }
}

/** Server options: the secure context plus whether client certificates are asked for. */
export async function loadServerTlsOptions(tls: TlsOptions): Promise<NodeTlsOptions> {
  if (tls.requireCertificate && tls.ca === undefined) {
    throw new TlsConfigError('TLS requireCertificate needs a ca file to verify clients against');
  }
  const context = await loadSecureContextOptions(tls);
  return {
    ...context,
    // With a CA, a certificate is asked for; only requireCertificate makes it mandatory.
    requestCert: tls.ca !== undefined,
    rejectUnauthorized: tls.requireCertificate === true,
  };
}

/** Splits Node's `subjectaltname` ("DNS:a, email:b, ...", values with commas are quoted). */
function parseSubjectAltName(text: string): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    const raw = m[2] ?? '';
    out.push({ kind: m[1] ?? '', value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}

/** The SAN kinds that can name a client, in the order they are preferred. */
const SAN_KINDS = ['URI', 'email', 'DNS'];

/**
 * The identity of a verified client certificate: its CN, or its first URI, email or DNS
 * subject alternative name. Undefined when the peer sent no certificate or it failed
 * verification (possible when a certificate is asked for but not required).
 */
export function certificateIdentity(
  socket: TLSSocket,
  from: TlsOptions['identityFrom'] = 'cn',
): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (from === 'san') {
    const names = parseSubjectAltName(cert.subjectaltname ?? '');
    for (const kind of SAN_KINDS) {
      const found = names.find((n) => n.kind === kind);
      if (found) return found.value;
    }
    return undefined;
  }
  const cn: string | string[] | undefined = cert.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
