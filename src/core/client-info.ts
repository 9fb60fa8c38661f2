/**
 * Who a connection is, as hooks, messages and sessions see it. In a file of its own: the
 * message and the hooks both refer to it, and neither should import the other for it.
 */
import type { ProtocolVersion } from '../protocol/index.js';

/** Who a connection is, as hooks see it. */
export interface ClientInfo {
  readonly clientId: string;
  /** The username as the client gave it (or as an authenticate hook replaced it). */
  readonly username: string | undefined;
  /**
   * True once an authenticate hook accepted this username: a password file checked it, a
   * verified certificate identity became it, or a custom hook allowed the client (and did
   * not say `anonymous`). False for a username the client only claimed: with no
   * authenticate hook, or on a listener that lets it in as anonymous. Authorization by
   * username (the ACL file's `user` blocks and `%u`) must use only a verified one.
   */
  readonly usernameVerified: boolean;
  readonly protocolVersion: ProtocolVersion;
  readonly remoteAddress: string | undefined;
  /** Listener/transport name ('tcp', 'tls', 'ws', 'wss', or a configured listener name). */
  readonly listener: string;
  /** Identity from a verified TLS client certificate, if any. */
  readonly certificateIdentity: string | undefined;
}

/**
 * Client ids under this prefix belong to bridges (their local sessions): a client that
 * asks for one is refused (0x85 Client Identifier not valid), so none can take a bridge's
 * session and its queue over.
 */
export const BRIDGE_CLIENT_ID_PREFIX = '$bridge/';
