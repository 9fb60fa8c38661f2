/**
 * TLS failures told in words, with mosquitto's exit codes: a failed handshake exits 8
 * (libmosquitto's MOSQ_ERR_TLS); a server that drops us after the handshake for want of a
 * client certificate (TLS 1.3 sends that alert late) counts as a lost connection (7).
 */
import { UsageError } from './flag-values.js';

/** The TLS handshake failed. */
export class TlsFailure extends Error {
  override readonly name = 'TlsFailure';
}

/** The connection closed after the TLS handshake, for a TLS reason. */
export class TlsConnectionLost extends Error {
  override readonly name = 'TlsConnectionLost';
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

interface OpenSslError extends NodeJS.ErrnoException {
  reason?: string;
}

/** A TLS error of the connect phase, retold; undefined when `err` is not one. */
export function describeTlsError(err: unknown, host: string): Error | undefined {
  const e = err as OpenSslError;
  const code = typeof e?.code === 'string' ? e.code : '';
  const reason = e?.reason ?? e?.message;
  if (code === 'ERR_SSL_NO_CIPHER_MATCH' || /no cipher match/.test(String(e?.message))) {
    return new UsageError('--ciphers: OpenSSL knows none of the ciphers in the list');
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsFailure(
      `TLS: the server certificate is not for ${host} (${reason}); check -h, or skip this check with --insecure`,
    );
  }
  if (UNTRUSTED.has(code)) {
    return new TlsFailure(
      `TLS: the server certificate is not trusted (${code}); give its CA with --cafile or --capath`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new TlsFailure(`TLS: the server certificate is not valid now (${code})`);
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
    return new TlsConnectionLost(
      'connection lost: the server requires a client certificate (give --cert and --key)',
    );
  }
  if (code.startsWith('ERR_SSL_')) return new TlsFailure(`TLS handshake failed: ${reason}`);
  return undefined;
}
