/**
 * Output backpressure of one connection: while the bytes written to a client and not yet
 * taken by the network are over `maxSocketBufferBytes`, the connection is not read (so a
 * client that sends but does not read cannot grow the broker's memory with replies) and its
 * QoS 1/2 deliveries and retained messages wait in its session. Once the transport has handed
 * everything to the network, reading and sending resume. A client that takes none of its
 * pending output for `outputStallTimeoutMs` is disconnected: MQTT 5 gets DISCONNECT 0x97
 * Quota exceeded (queued behind what it did not read), MQTT 3.x a close.
 *
 * QoS 0 messages for a congested connection are dropped, unless the client is reading: then
 * (issue #17) a message a client publishes is sent anyway, up to twice the bound, and that
 * publisher is not read until this output has drained, so a subscriber that keeps reading
 * loses nothing and the publishers slow down to its pace. A client that has not drained
 * within `qos0DrainWaitMs` of being waited for is behind for good: its publishers are let go
 * and its QoS 0 messages dropped (counted) until it has drained, so no slow reader can hold
 * the publishers for longer than that.
 *
 * Made for a connection the first time its output goes over the bound; most never need one.
 */
import type { TimerHandle } from '../ports/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { ConnectionSink } from './connection-sink.js';
import type { CoreServices } from './core-services.js';
import type { PublishingInput } from './packet-input.js';

/** The output side of a connection as the backpressure sees it. */
export interface BackpressuredOutput {
  readonly core: Pick<CoreServices, 'metrics' | 'options' | 'clock' | 'refusals'>;
  readonly sink: ConnectionSink;
  readonly client: ClientInfo;
  readonly closed: boolean;
  /** True while unsent bytes (in the sink and held for a commit) are over the bound. */
  outputOverBound(): boolean;
  /** Settles once held QoS 2 copies are written; undefined when none are held. */
  heldWrites(): Promise<void> | undefined;
  /** The output went below the bound: read and send again. */
  outputReleased(): void;
  /** The transport took what was written after a send batch: the session sends more. */
  sendMore(): void;
  /** Closes the connection with a reason code (DISCONNECT for MQTT 5). */
  closeNow(reason: string, reasonCode: number): void;
}

/** Holds a connection's input while its output is over the bound, and times out a stall. */
export class OutputBackpressure {
  /** True from {@link hold} until the output is released. */
  holding = false;
  /** The session asked to send more once the transport has taken a batch (see {@link later}). */
  private laterWanted = false;
  private stallTimer: TimerHandle | undefined;
  /** Sink bytes at the last stall check: less at the next one means the client read some. */
  private stallMark = 0;
  /** Publishers held until this output drains (QoS 0 flow control). */
  private waiters: PublishingInput[] | undefined;
  private drainWaitTimer: TimerHandle | undefined;
  /** Did not drain within `qos0DrainWaitMs` of holding publishers: QoS 0 is dropped. */
  private behind = false;
  private readonly onDrained = (): void => this.drained();
  private readonly onStallCheck = (): void => this.checkStall();
  private readonly onDrainWaitOver = (): void => this.drainWaitOver();

  constructor(private readonly conn: BackpressuredOutput) {}

  /** The output went over the bound: wait for the transport to drain, start the stall clock. */
  hold(): void {
    if (this.holding || this.conn.closed) return;
    this.holding = true;
    const core = this.conn.core;
    core.metrics.outputHolds++;
    this.waitForOutput();
    const timeout = core.options.outputStallTimeoutMs;
    if (timeout > 0) {
      this.stallMark = this.conn.sink.bufferedBytes;
      this.stallTimer = core.clock.setTimeout(this.onStallCheck, timeout);
    }
  }

  /**
   * The session stopped after a batch so that one connection's backlog (100,000 retained
   * messages) does not keep the event loop from every other connection: it is called back
   * once the transport has taken the batch, on a later turn. Reading is not held for it.
   */
  later(): void {
    if (this.laterWanted || this.holding || this.conn.closed) return;
    this.laterWanted = true;
    this.conn.sink.notifyWhenDrained(this.onDrained);
  }

  /**
   * A QoS 0 message published by `source` (the connection whose packet is being handled, if
   * any) finds this output over its bound: true when it is sent anyway and `source` waits
   * until this output has drained; false when it is to be dropped (no publisher to slow
   * down, twice the bound reached, the client fell behind, or `qos0DrainWaitMs` is 0).
   */
  admitOverBound(source: PublishingInput | undefined): boolean {
    const conn = this.conn;
    const wait = conn.core.options.qos0DrainWaitMs;
    if (source === undefined || wait === 0 || this.behind || !this.holding) return false;
    if (conn.sink.bufferedBytes > 2 * conn.core.options.maxSocketBufferBytes) return false;
    // A client publishing to itself is held by its own output already.
    if ((source as unknown) === conn) return true;
    const waiters = (this.waiters ??= []);
    if (waiters.at(-1) !== source) {
      waiters.push(source);
      source.waitForSubscriber();
    }
    this.drainWaitTimer ??= conn.core.clock.setTimeout(this.onDrainWaitOver, wait);
    return true;
  }

  /** The connection ended: no more timers or callbacks; held publishers go on. */
  stop(): void {
    this.holding = false;
    this.laterWanted = false;
    this.clearStallTimer();
    this.releaseWaiters();
  }

  /** Waits for the sink to drain or, when only held QoS 2 copies keep it over, for them. */
  private waitForOutput(): void {
    const held = this.conn.heldWrites();
    const limit = this.conn.core.options.maxSocketBufferBytes;
    if (held !== undefined && this.conn.sink.bufferedBytes <= limit) {
      held.then(this.onDrained, this.onDrained);
    } else {
      this.conn.sink.notifyWhenDrained(this.onDrained);
    }
  }

  private drained(): void {
    if (this.conn.closed) return;
    if (!this.holding) {
      if (this.laterWanted) {
        this.laterWanted = false;
        this.conn.sendMore();
      }
      return;
    }
    if (this.conn.outputOverBound()) {
      this.waitForOutput();
      return;
    }
    this.release();
  }

  private release(): void {
    this.holding = false;
    this.laterWanted = false; // the release sends what waits
    this.behind = false;
    this.clearStallTimer();
    this.conn.outputReleased();
    this.releaseWaiters();
  }

  /** Held publishers waited `qos0DrainWaitMs` and this output has not drained: let them go. */
  private drainWaitOver(): void {
    this.drainWaitTimer = undefined;
    if (!this.holding || this.conn.closed) return;
    this.behind = true;
    this.releaseWaiters();
  }

  /** Lets every held publisher go (each reads again once no other subscriber holds it). */
  private releaseWaiters(): void {
    if (this.drainWaitTimer !== undefined) {
      this.conn.core.clock.clearTimeout(this.drainWaitTimer);
      this.drainWaitTimer = undefined;
    }
    const waiters = this.waiters;
    if (waiters === undefined || waiters.length === 0) return;
    this.waiters = undefined;
    for (const waiter of waiters) waiter.subscriberCaughtUp();
  }

  /**
   * The stall time passed while holding: the client read some of its output meanwhile (the
   * sink holds less than at the last check), so it gets another period; it read nothing, so
   * it is disconnected: MQTT 5 DISCONNECT with 0x97 Quota exceeded, one of the codes a
   * Server may send [MQTT-3.14.2-1]; MQTT 3.x has no server DISCONNECT, so the socket closes.
   */
  private checkStall(): void {
    this.stallTimer = undefined;
    if (!this.holding || this.conn.closed) return;
    if (!this.conn.outputOverBound()) {
      this.release(); // below the bound without a drain notification: nothing to wait for
      return;
    }
    const core = this.conn.core;
    const buffered = this.conn.sink.bufferedBytes;
    if (buffered < this.stallMark) {
      this.stallMark = buffered;
      this.stallTimer = core.clock.setTimeout(this.onStallCheck, core.options.outputStallTimeoutMs);
      return;
    }
    core.refusals.note(
      'output-stalled',
      {
        clientId: this.conn.client.clientId || undefined,
        unsentBytes: buffered,
        maxSocketBufferBytes: core.options.maxSocketBufferBytes,
        outputStallTimeoutMs: core.options.outputStallTimeoutMs,
      },
      'closing connection: the client read none of its pending output within outputStallTimeout',
    );
    this.holding = false;
    this.conn.closeNow('output stalled: the client does not read', ReasonCode.QuotaExceeded);
  }

  private clearStallTimer(): void {
    if (this.stallTimer === undefined) return;
    this.conn.core.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
