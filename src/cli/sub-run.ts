/**
 * What `pipit sub` does once its flags are checked: connect (listening before the first
 * CONNECT, so a resumed session's queued messages are printed), subscribe on every
 * connection, print, and stop on -C, -E, --retained-only, -W, a signal or a fatal error.
 * A lost connection is followed by a new one (ReconnectingClient).
 */
import { describeReasonCode, type MqttClient, ReconnectingClient } from '../client/index.js';
import type { PublishPacket } from '../protocol/packets.js';
import { topicMatchesFilter } from '../topic/match.js';
import { describeNetworkError, EXIT_TIMEOUT, reportFailure } from './cli-errors.js';
import { now } from './clock-text.js';
import { debugTrace } from './debug-trace.js';
import { messagePrinter } from './sub-output.js';
import { planSub, type SubFlags, type SubPlan } from './sub-plan.js';

/** Every subscription of a SUBACK was refused. */
class SubscriptionRefusedError extends Error {
  override readonly name = 'SubscriptionRefusedError';
}

/** One run of `pipit sub`. */
class SubSession {
  private readonly client: ReconnectingClient;
  private readonly print: (packet: PublishPacket, stamp: ReturnType<typeof now>) => Buffer;
  private readonly removals = new Set<Promise<void>>();
  private printed = 0;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private lastLoss: Error | undefined;
  private resolveEnd: (code: number) => void = () => {};
  private readonly onSignal = (): void => this.finish(0);

  constructor(private readonly plan: SubPlan) {
    const { options, debug } = plan.connection;
    this.client = new ReconnectingClient({
      ...options,
      trace: debug ? debugTrace(() => this.client.current) : undefined,
      // The bridge's policy: jittered exponential backoff, failover along --failover.
      reconnect: plan.reconnect.reconnect,
      servers: plan.reconnect.servers,
    });
    this.print = messagePrinter(plan.output, (text) => this.warn(`Error: ${text}`));
  }

  private get quiet(): boolean {
    return this.plan.connection.quiet;
  }

  private warn(line: string): void {
    if (!this.quiet) process.stderr.write(`${line}\n`);
  }

  /** Connects and runs until the end; resolves with the exit code. */
  async run(): Promise<number> {
    const ended = new Promise<number>((resolve) => {
      this.resolveEnd = resolve;
    });
    const c = this.client;
    c.on('connect', (_connack, client) => void this.subscribe(client));
    c.on('message', (_topic, _payload, packet) => this.onMessage(packet));
    c.on('offline', (err) => {
      this.lastLoss = err;
    });
    c.on('reconnectFailed', (err) => {
      this.lastLoss = err;
    });
    // Say once that the connection is gone; each further failed attempt only with -d.
    c.on('reconnecting', (attempt, delayMs) => {
      const why = this.lastLoss?.message ?? 'closed';
      const wait = `${delayMs / 1000} s`;
      if (attempt === 1) this.warn(`Connection lost (${why}); reconnecting in ${wait}`);
      else if (this.plan.connection.debug)
        this.warn(`Reconnect failed (${why}); next try in ${wait}`);
    });
    c.on('close', (err) => {
      if (err) this.finish(reportFailure(err, this.quiet));
    });
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    // A reader that went away (`| head -1`) ends the run, as a full count would.
    process.stdout.on('error', () => this.finish(0));
    try {
      await c.start();
    } catch (err) {
      this.finish(
        reportFailure(describeNetworkError(err, this.plan.connection.options), this.quiet),
      );
      return ended;
    }
    if (this.plan.timeout > 0) {
      this.timer = setTimeout(() => {
        this.warn('Timed out');
        this.finish(EXIT_TIMEOUT);
      }, this.plan.timeout * 1000);
    }
    return ended;
  }

  /** Subscribes (and unsubscribes -U) on a new connection; -E ends after the answers. */
  private async subscribe(client: MqttClient): Promise<void> {
    const p = this.plan;
    const v5 = client.protocolVersion === 5;
    try {
      const codes = await client.subscribe(p.subscriptions, { properties: p.subscribeProperties });
      if (p.connection.debug) process.stdout.write(`Subscribed: ${codes.join(', ')}\n`);
      const refused = p.subscriptions
        .map((s, i) => ({ filter: s.filter, code: codes[i] ?? 0x80 }))
        .filter(({ code }) => code >= 0x80)
        .map(
          ({ filter, code }) => `${filter} (${v5 ? describeReasonCode(code) : 'failure, 0x80'})`,
        );
      if (refused.length === p.subscriptions.length) {
        const err = new SubscriptionRefusedError(
          `every subscription was refused: ${refused.join(', ')}`,
        );
        this.finish(reportFailure(err, this.quiet));
        return;
      }
      for (const r of refused) this.warn(`Warning: subscription refused: ${r}`);
      if (p.unsubscribe.length > 0) {
        await client.unsubscribe(p.unsubscribe, { properties: p.unsubscribeProperties });
      }
      if (p.exitAfterSubscribe) this.finish(0);
    } catch {
      // The connection dropped before the answer: the next connection subscribes again.
    }
  }

  /** mosquitto_sub's order: retained-only, -R, -T, --remove-retained, print, -C. */
  private onMessage(packet: PublishPacket): void {
    const p = this.plan;
    if (this.finished) return;
    if (p.retainedOnly && !packet.retain) {
      this.finish(0);
      return;
    }
    if (p.skipRetained && packet.retain) return;
    if (p.filterOut.some((filter) => topicMatchesFilter(packet.topic, filter))) return;
    if (p.removeRetained && packet.retain) this.removeRetained(packet.topic);
    const bytes = this.print(packet, now());
    if (bytes.length > 0) process.stdout.write(bytes);
    if (p.count > 0 && ++this.printed >= p.count) this.finish(0);
  }

  /** Clears a retained message: an empty retained publish to its topic. */
  private removeRetained(topic: string): void {
    const sent = this.client
      .publish(topic, Buffer.alloc(0), { qos: 1, retain: true })
      .catch((err: Error) =>
        this.warn(`Warning: could not remove the retained message of ${topic}: ${err.message}`),
      )
      .finally(() => this.removals.delete(sent));
    this.removals.add(sent);
  }

  /** Ends the run once: pending removals, then DISCONNECT, then the exit code. */
  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    void (async () => {
      await Promise.all(this.removals);
      await this.client.end(0, this.plan.connection.properties.disconnect).catch(() => {});
      this.resolveEnd(code);
    })();
  }
}

/** Runs `sub` with parsed flags; resolves with the exit code. */
export async function runSub(f: SubFlags): Promise<number> {
  let plan: SubPlan;
  try {
    plan = planSub(f);
  } catch (err) {
    return reportFailure(err, f.quiet === true);
  }
  return new SubSession(plan).run();
}
