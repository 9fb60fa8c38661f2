/**
 * The publisher of the Redis failover test (sentinel-failover.test.ts): unlike the crash
 * loop's, it sends a message again until it is acknowledged, as a publisher must when the
 * broker did not take it (MQTT 5 PUBACK/PUBREC 0x97, or the connection closed with the
 * message in flight): each send is a new PUBLISH (a clean session, so no DUP resend), and how
 * often each payload was sent is kept, so that a QoS 2 repeat a subscriber sees can be told
 * from a broker's duplicate (one send can arrive at most once).
 */
import type { MqttClient } from 'mqtt';
import { connectToLive, type LiveNodes } from './crash-loop-clients.js';

/** Pause before sending a refused message again. */
const RESEND_MS = 100;

/** How one send ended. */
type Outcome = 'acked' | 'refused' | 'closed';

/** A message a publisher got PUBACK (0x00-0x7f) or PUBCOMP for. */
export interface FailoverAcknowledged {
  payload: string;
  topic: string;
  qos: 1 | 2;
  /** The PUBLISH that was acknowledged was this payload's nth send. */
  sends: number;
  /** When its acknowledgement came (for a lost one's message). */
  at: number;
}

/** Publishes to the subscribers' topics in turn, one message at a time, each until acknowledged. */
export class FailoverPublisher {
  readonly acknowledged: FailoverAcknowledged[] = [];
  /** Sends of each payload so far (acknowledged or not). */
  readonly sends = new Map<string, number>();
  /** Sends answered with a failure reason code (0x97 for a write no replica had in time). */
  refused = 0;
  /** Sends whose connection closed before their acknowledgement (3.1.1's refusal). */
  cutOff = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private seq = 0;
  /** The payload sent and not yet acknowledged. */
  private pending: { topic: string; payload: string } | undefined;

  constructor(
    readonly clientId: string,
    readonly protocolVersion: 4 | 5,
    readonly qos: 1 | 2,
    private readonly topics: string[],
    private readonly live: LiveNodes,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops after the message in flight; resolves once stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const connected = await connectToLive(
        this.live,
        { clientId: this.clientId, protocolVersion: this.protocolVersion, clean: true },
        () => this.stopping,
      );
      if (connected === undefined) return;
      await this.publishUntilClosed(connected.client);
      connected.client.end(true);
    }
  }

  private async publishUntilClosed(client: MqttClient): Promise<void> {
    const closed = new Promise<'closed'>((resolve) =>
      client.once('close', () => resolve('closed')),
    );
    while (!this.stopping && client.connected) {
      if (this.pending === undefined) {
        const topic = this.topics[this.seq % this.topics.length]!;
        this.pending = { topic, payload: `${this.clientId}-${this.seq++}` };
      }
      const { topic, payload } = this.pending;
      const sends = (this.sends.get(payload) ?? 0) + 1;
      this.sends.set(payload, sends);
      const answer = client.publishAsync(topic, payload, { qos: this.qos }).then(
        (): Outcome => 'acked',
        // A reason code (0x97): refused; anything else: the connection is going.
        (err: { code?: unknown }): Outcome => (typeof err.code === 'number' ? 'refused' : 'closed'),
      );
      const outcome = await Promise.race([answer, closed]);
      if (outcome === 'closed') {
        this.cutOff++;
        client.end(true);
        return;
      }
      if (outcome === 'refused') {
        this.refused++;
        await new Promise((resolve) => setTimeout(resolve, RESEND_MS));
        continue;
      }
      this.acknowledged.push({ payload, topic, qos: this.qos, sends, at: Date.now() });
      this.pending = undefined;
    }
  }
}
