/**
 * A ConnectionSink over a `ws` WebSocket, and the glue that feeds its binary messages to
 * a core Connection. Writes made in one tick go out as one binary frame.
 */
import type { WebSocket } from 'ws';
import type { BrokerCore, ConnectionInfo, ConnectionSink } from '../core/index.js';

/** How long a closing WebSocket may take for its close handshake before it is destroyed. */
const END_GRACE_MS = 5000;
/** WebSocket close code for data of a type the endpoint cannot accept (RFC 6455 7.4.1). */
const UNSUPPORTED_DATA = 1003;

/** Options of every frame sent (one object, not one per send). */
const BINARY = { binary: true } as const;

/** Wraps a WebSocket as the core's byte sink. */
export class WebSocketSink implements ConnectionSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** The core's callback for when everything written has left (see notifyWhenDrained). */
  private drainWaiter: (() => void) | undefined;
  /** Frames handed to `ws` whose write has not completed yet. */
  private unsentFrames = 0;

  constructor(private readonly ws: WebSocket) {}

  write(data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount + this.pendingBytes;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  notifyWhenDrained(drained: () => void): void {
    this.drainWaiter = drained;
    // With frames on their way, the callback of the last one checks (see `frameSent`).
    if (this.pendingBytes === 0 && this.unsentFrames === 0) setImmediate(this.checkDrained);
  }

  end(): void {
    this.flush();
    this.close(1000);
  }

  /** Starts the close handshake; a peer that never answers is cut off after a grace time. */
  close(code: number, reason?: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), END_GRACE_MS).unref();
  }

  /** Sends what this tick wrote as a single frame (one header, one socket write). */
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const [first] = this.pending;
    const data =
      this.pending.length === 1 && first ? first : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.unsentFrames++;
    this.ws.send(data, BINARY, this.frameSent);
  };

  /** A frame was written out (or failed). */
  private readonly frameSent = (): void => {
    this.unsentFrames--;
    if (this.drainWaiter !== undefined) this.checkDrained();
  };

  /**
   * Calls the drain waiter once none of our frames is left to write. Control frames `ws`
   * queues on its own (pongs, the close) are not waited for: they are tiny, and no callback
   * of ours would follow them.
   */
  private readonly checkDrained = (): void => {
    const waiter = this.drainWaiter;
    if (waiter === undefined) return;
    if (this.ws.readyState !== this.ws.OPEN) {
      this.drainWaiter = undefined;
      return;
    }
    if (this.pendingBytes > 0 || this.unsentFrames > 0) return;
    this.drainWaiter = undefined;
    waiter();
  };
}

/** Connects an open WebSocket to a new core Connection. */
export function attachWebSocket(core: BrokerCore, ws: WebSocket, info: ConnectionInfo): void {
  const sink = new WebSocketSink(ws);
  const conn = core.openConnection(sink, info);
  let closed = false;
  const closeTransport = (reason?: string): void => {
    if (closed) return;
    closed = true;
    conn.transportClosed(reason);
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (closed) return;
    if (!isBinary) {
      // [MQTT-6.0.0-1] MQTT travels in binary frames only; any other data frame closes.
      sink.close(UNSUPPORTED_DATA, 'MQTT needs binary frames');
      closeTransport('text WebSocket frame');
      return;
    }
    // [MQTT-6.0.0-2] Frames and packets need not align: the core's decoder reassembles.
    conn.receive(data);
  });
  ws.on('error', (err: Error & { code?: string }) => {
    const clientId = conn.client.clientId || undefined;
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      // The listener's maxFrameSize: `ws` closes with 1009 before buffering more of it.
      core.logger.info(
        { clientId, listener: info.listener, err: err.message },
        "WebSocket message over the listener's maxFrameSize: closed with 1009",
      );
      return;
    }
    core.logger.debug({ err: err.message, clientId }, 'WebSocket error');
  });
  ws.on('close', () => closeTransport());
}
