/**
 * What a session needs from the connection it is attached to. Connection implements it, and
 * a bridge's remote connection (src/bridge/bridge-output.ts) does for the bridge's session:
 * without bridges the calls below stay monomorphic on the fan-out path, with them they see
 * two classes (polymorphic, never megamorphic).
 */
import type { Delivery } from './message.js';
import type { SessionHolder } from './session-holder.js';
import type { FanoutCache } from './subscriber.js';

/** The live output of a session: a connection, which also holds the session. */
export interface DeliveryOutput extends SessionHolder {
  /** Outbound QoS 1/2 window: min(the client's Receive Maximum, our inflight limit). */
  readonly sendWindow: number;
  /**
   * True while the socket holds more unsent bytes than allowed: QoS 0 is then dropped, and
   * QoS 1/2 and retained messages wait. Seeing it true makes the output call
   * `Session.outputReady` once it has drained.
   */
  isCongested(): boolean;
  /**
   * Asked for a QoS 0 message while congested: true when it is sent anyway because the client
   * is reading and the publisher is held until it has caught up instead (a subscriber that
   * drains loses nothing); false when it is dropped.
   */
  admitsQos0OverBound(): boolean;
  /**
   * Writes a PUBLISH; false when it could not be sent (e.g. larger than the client's maximum).
   * With a store, a copy of a QoS 2 message (and every PUBLISH after it) is written only once
   * what was stored before the call is committed.
   */
  sendPublish(
    delivery: Delivery,
    packetId: number | undefined,
    dup: boolean,
    cache?: FanoutCache,
  ): boolean;
  sendPubrel(packetId: number): void;
  /**
   * The session stopped sending after a batch (fairness): call `Session.outputReady` once
   * the transport has taken what was written, on a later turn.
   */
  sendLater(): void;
}
