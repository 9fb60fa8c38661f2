/**
 * The boundary between a transport and the core: what a connection writes to, and what
 * the transport tells the core about the peer.
 */

/** A byte sink for one network connection, implemented by each transport. */
export interface ConnectionSink {
  /** Queues bytes for the peer. The transport batches writes made in one tick. */
  write(data: Buffer): void;
  /** Bytes written and not yet flushed to the network (for slow-subscriber protection). */
  readonly bufferedBytes: number;
  /**
   * Stops reading from the peer: while a packet is handled asynchronously, or while the
   * peer's unsent output is over its bound (output backpressure).
   */
  pause(): void;
  /** Resumes reading. */
  resume(): void;
  /**
   * Calls `drained` once, later (never from inside this call or a `write`), when the bytes
   * written so far have been handed to the network: nothing is left in this sink, and the
   * socket's user-space buffer is empty or below its own small high-water mark. The kernel's
   * buffer may still hold some; it keeps the link busy while the core writes more. A later
   * call replaces an earlier callback. Not called once the socket is gone.
   */
  notifyWhenDrained(drained: () => void): void;
  /** Flushes what was written, then closes the connection. */
  end(): void;
}

/** What the transport knows about the peer. */
export interface ConnectionInfo {
  readonly remoteAddress?: string | undefined;
  /** Listener name ('tcp', 'tls', 'ws', 'wss' or a configured name). */
  readonly listener: string;
  /** Identity from a verified TLS client certificate (CN or SAN), if any. */
  readonly certificateIdentity?: string | undefined;
  /** Use the certificate identity as the username (TLS `useIdentityAsUsername`). */
  readonly identityAsUsername?: boolean | undefined;
}
