/**
 * The input side of a connection: bytes from the transport are decoded, and packets are
 * handled strictly in order. While a packet's step runs asynchronously (an async hook, a
 * claim waiting for another node), or while the connection's unsent output is over its bound
 * (output-backpressure.ts), later packets wait in a backlog and the transport is paused, so a
 * slow step pushes back on the client instead of filling memory.
 *
 * A base class of Connection rather than an object it holds: every idle connection would pay
 * for one more object (bench/RESULTS.md "Connection cost" tracks the bytes per connection),
 * and the per-packet path stays calls on one monomorphic receiver.
 */

import type { Clock } from '../ports/index.js';
import type { Packet } from '../protocol/index.js';
import { Decoder, MqttError } from '../protocol/index.js';
import type { ConnectionSink } from './connection-sink.js';
import { toMqttError } from './error-mapping.js';
import type { CoreMetrics } from './metrics.js';

/** Why a connection is not read (bits of `holds`): an async step runs. */
export const HOLD_ASYNC = 1;
/** Why a connection is not read: its unsent output is over `maxSocketBufferBytes`. */
export const HOLD_OUTPUT = 2;
/**
 * Why a connection is not read: it published QoS 0 messages to subscribers that read but are
 * behind, and waits for them to catch up (output-backpressure.ts, `qos0DrainWaitMs`).
 */
export const HOLD_SUBSCRIBERS = 4;

/** A connection that can be held until the subscribers it published to have caught up. */
export interface PublishingInput {
  /** Stops handling this connection's packets until {@link subscriberCaughtUp} balances it. */
  waitForSubscriber(): void;
  /** One subscriber it waited for caught up (or gave up on): read again once none is left. */
  subscriberCaughtUp(): void;
}

/** What the input side reads from the core. */
export interface InputServices {
  readonly metrics: CoreMetrics;
  readonly clock: Clock;
}

/** Decoding and in-order handling of one connection's packets. */
export abstract class PacketInput {
  /**
   * The connection whose bytes the decoder is parsing right now: the decoder calls one
   * shared function instead of a closure per connection (saved and restored, so a handler
   * that feeds another connection synchronously is safe).
   */
  private static decoding: PacketInput | undefined;
  /** The connection whose packet is being handled right now (synchronously). */
  private static handling: PacketInput | undefined;

  /** When the client last sent something (or when the broker last stopped not reading it). */
  protected lastActivity: number;
  /**
   * Why packets are not handled now (HOLD_* bits): an async step runs, or the output is over
   * its bound. Packets decoded meanwhile wait in `backlog`; the transport is paused.
   */
  protected holds = 0;
  private readonly decoder: Decoder;
  /** Packets decoded while something holds the connection (created when first needed). */
  private backlog: (Packet | MqttError)[] | undefined;
  /** The continuation after an async step, made once per connection that has one. */
  private resumeAfterAsync: (() => void) | undefined;
  /** Whether the transport is paused (follows `holds`). */
  private readPaused = false;
  /** Subscribers this connection waits for (HOLD_SUBSCRIBERS while above 0). */
  private subscriberWaits = 0;

  protected abstract readonly core: InputServices;
  /** The transport's side of the connection. */
  abstract readonly sink: ConnectionSink;
  /** True once the connection has ended. */
  abstract get closed(): boolean;

  constructor(maximumPacketSize: number, now: number) {
    this.decoder = new Decoder({ maximumPacketSize });
    this.lastActivity = now;
  }

  /**
   * Bytes from the transport: `chunk[0, length)`. The chunk is not kept (a transport may
   * reuse it for its next read).
   */
  receive(chunk: Buffer, length = chunk.length): void {
    if (this.closed) return;
    this.core.metrics.bytesReceived += length;
    this.lastActivity = this.core.clock.now();
    const outer = PacketInput.decoding;
    PacketInput.decoding = this;
    try {
      this.decoder.push(chunk, PacketInput.onDecoded, length);
    } catch (err) {
      if (this.holds !== 0) (this.backlog ??= []).push(toMqttError(err));
      else this.fail(err);
    } finally {
      PacketInput.decoding = outer;
    }
  }

  /**
   * The connection whose packet the broker is handling at this moment, if any: the publisher
   * of a message being routed synchronously (not one routed after an async hook, a will, a
   * host or cluster publish).
   */
  static handlingNow(): PublishingInput | undefined {
    return PacketInput.handling;
  }

  waitForSubscriber(): void {
    if (this.closed) return;
    this.subscriberWaits++;
    this.holds |= HOLD_SUBSCRIBERS;
    this.updateReading();
  }

  subscriberCaughtUp(): void {
    if (this.subscriberWaits === 0 || --this.subscriberWaits > 0) return;
    this.holds &= ~HOLD_SUBSCRIBERS;
    // Packets the client sent while it was not read are still to come: the gap was ours.
    this.lastActivity = this.core.clock.now();
    this.handleBacklog();
  }

  /** Handles one packet: synchronously, or a promise while its step runs. */
  protected abstract dispatch(packet: Packet): void | Promise<void>;
  /** Fails the connection with a protocol error (after earlier packets were handled). */
  abstract fail(err: unknown): void;
  /** True while the unsent output is over its bound. */
  abstract outputOverBound(): boolean;
  /** The output went over its bound: hold reading until it drains. */
  protected abstract holdOutput(): void;

  /** The output is below its bound again: handle what waited and read again. */
  protected releaseOutputHold(): void {
    this.holds &= ~HOLD_OUTPUT;
    // Packets the client sent while it was not read are still to come: the gap was ours.
    this.lastActivity = this.core.clock.now();
  }

  /** The connection ended: what waited is dropped. */
  protected dropBacklog(): void {
    this.backlog = undefined;
  }

  /** Handles the packets that waited, while nothing holds the connection; then reads again. */
  protected handleBacklog(): void {
    while (this.backlog?.length && this.holds === 0 && !this.closed) {
      const next = this.backlog.shift()!;
      if (next instanceof MqttError) this.fail(next);
      else this.run(next);
    }
    this.updateReading();
  }

  /** Pauses or resumes the transport to match `holds`. */
  protected updateReading(): void {
    if (this.closed) return;
    const paused = this.holds !== 0;
    if (paused === this.readPaused) return;
    this.readPaused = paused;
    if (paused) this.sink.pause();
    else this.sink.resume();
  }

  private static onDecoded(this: void, packet: Packet): void {
    PacketInput.decoding?.onPacket(packet);
  }

  private onPacket(packet: Packet): void {
    this.core.metrics.packetsReceived++;
    if (this.holds !== 0) (this.backlog ??= []).push(packet);
    else this.run(packet);
  }

  private run(packet: Packet): void {
    let pending: void | Promise<void>;
    const outer = PacketInput.handling;
    PacketInput.handling = this;
    try {
      pending = this.dispatch(packet);
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      PacketInput.handling = outer;
    }
    if (pending) {
      this.holds |= HOLD_ASYNC;
      this.updateReading();
      this.resumeAfterAsync ??= () => this.afterAsync();
      pending.then(this.resumeAfterAsync, (err) => {
        this.holds &= ~HOLD_ASYNC;
        this.fail(err);
      });
    } else if (this.outputOverBound()) {
      // What this packet made us send filled the output: the packets after it wait until the
      // client has read, so a client that sends but does not read cannot grow our memory.
      this.holdOutput();
    }
  }

  /**
   * Lets go of the continuation after an async step (96 B with its context). The connection
   * calls it once its CONNECT is accepted: that async step is over, and an idle connection
   * should not hold it; the few that take async steps later make it again, once.
   */
  protected forgetAsyncContinuation(): void {
    this.resumeAfterAsync = undefined;
  }

  private afterAsync(): void {
    this.holds &= ~HOLD_ASYNC;
    if (this.outputOverBound()) this.holdOutput();
    this.handleBacklog();
  }
}
