/**
 * Types of one client connection: its events and the settings it takes besides CONNECT.
 */
import type {
  ConnackPacket,
  DisconnectPacket,
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
} from '../protocol/packets.js';
import type { ClientOptions } from './options.js';

/** The events a client emits. */
export interface MqttClientEvents {
  /**
   * The server accepted the connection. Emitted while the CONNACK is handled, before any
   * packet that follows it (a resumed session's queued messages come right after).
   */
  connack: [packet: ConnackPacket];
  /** An application message from the server (emitted once per QoS 2 message). */
  message: [topic: string, payload: Buffer, packet: PublishPacket];
  /** The server sent DISCONNECT (MQTT 5); 'close' follows. */
  disconnect: [packet: DisconnectPacket];
  /**
   * PUBACK, PUBREC or PUBCOMP of a PUBLISH written with `sendPacket` (while listened to, the
   * client answers no PUBREC of an id it does not wait for itself: the listener does).
   */
  ack: [packet: PubackPacket | PubrecPacket | PubcompPacket];
  /** The socket took what was buffered (after `sendPacket` returned false). */
  drain: [];
  /** Emitted only when listened to: a failure that closes the connection. */
  error: [error: Error];
  /** The connection is gone; `error` is why, undefined after a clean `end()`. */
  close: [error: Error | undefined];
}

/** What a connection needs besides its CONNECT packet (see ClientOptions). */
export type ConnectionSettings = Pick<
  ClientOptions,
  'maximumPacketSize' | 'maxInflight' | 'trace' | 'deferAcks'
>;
