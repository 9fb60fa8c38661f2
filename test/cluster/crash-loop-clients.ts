/**
 * The clients of the cluster crash loop (crash-loop.test.ts): persistent subscribers and
 * publishers that, like clients behind a load balancer, reconnect to a live node when theirs
 * dies. A subscriber keeps its MQTT.js stores across connections (as a persistent client
 * keeps its state), so a QoS 2 message whose PUBREL comes on the next connection is still
 * delivered once. A publisher never resends: a message counts as acknowledged only once its
 * PUBACK/PUBCOMP arrived, and a fresh one follows, so any QoS 2 repeat a subscriber sees is
 * a broker's duplicate.
 */
import mqtt, { type IClientOptions, type MqttClient, Store } from 'mqtt';

/** Where clients may connect now (the live nodes' URLs). */
export type LiveNodes = () => string[];

/** Pause between two connection attempts (a refused CONNACK 0x88 during a node's lease). */
const RETRY_MS = 100;

/** Called with each message's payload, how it came (node, packet id, DUP) and its topic. */
type OnMessage = (payload: string, how: string, topic: string) => void;

/** An accepted connection, and the URL of the node that accepted it. */
export interface Connected {
  client: MqttClient;
  sessionPresent: boolean;
  url: string;
}

/** Connects to one of the live nodes, retrying until a CONNACK accepts (or `stopped()`). */
export async function connectToLive(
  live: LiveNodes,
  options: IClientOptions,
  stopped: () => boolean,
  onMessage?: OnMessage,
): Promise<Connected | undefined> {
  for (let attempt = 0; !stopped(); attempt++) {
    const urls = live();
    const url = urls[attempt % Math.max(urls.length, 1)];
    if (url !== undefined) {
      const result = await tryConnect(url, options, onMessage);
      if (result !== undefined) return result;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  return undefined;
}

function tryConnect(
  url: string,
  options: IClientOptions,
  onMessage?: OnMessage,
): Promise<Connected | undefined> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    if (onMessage) {
      client.on('message', (topic, payload, packet) =>
        onMessage(payload.toString(), `${url} id ${packet.messageId} dup ${packet.dup}`, topic),
      );
    }
    client.on('error', () => {});
    const fail = (): void => {
      client.end(true);
      resolve(undefined);
    };
    client.once('close', fail);
    client.once('connect', (connack) => {
      client.removeListener('close', fail);
      resolve({ client, sessionPresent: connack.sessionPresent, url });
    });
  });
}

/** A persistent subscriber of one topic. */
export class CrashSubscriber {
  /** Times each payload arrived. */
  readonly received = new Map<string, number>();
  /** How each payload arrived, each time (node, packet id, DUP): what a duplicate shows. */
  readonly arrivals = new Map<string, string[]>();
  /**
   * Messages that came on another topic than its own (`<topic> <payload>`): none should. A
   * message stored under the id of an older one came as that one (the store keeps the first
   * body of an id), most often on another subscriber's topic: message-id-blocks.ts.
   */
  readonly foreign: string[] = [];
  /** Connections after the first that found no session (each one a lost session). */
  sessionsLost = 0;
  /** The URL of the node it is connected to (undefined while reconnecting). */
  node: string | undefined;
  /** Its connections (when, where, session present) and closes: what a lost message's log shows. */
  readonly timeline: string[] = [];
  private client: MqttClient | undefined;
  // `clean: false`: ending one connection (a refused CONNACK) must not drop what the stores
  // hold (MQTT.js empties a clean store on close, and the next connection then crashes).
  private readonly stores = {
    incomingStore: new Store({ clean: false }),
    outgoingStore: new Store({ clean: false }),
  };
  private stopping = false;
  private connecting: Promise<void> | undefined;
  /** A reconnection waits for this ({@link bounce}). */
  private held: Promise<void> = Promise.resolve();

  constructor(
    readonly clientId: string,
    readonly topic: string,
    readonly protocolVersion: 4 | 5,
    private readonly live: LiveNodes,
  ) {}

  /** First connection (on `url`) and the subscription (QoS 2). */
  async start(url: string): Promise<void> {
    await this.connect(() => [url]);
    await this.client!.subscribeAsync(this.topic, { qos: 2 });
  }

  /** Resolves once connected again after its node died. */
  async settled(): Promise<void> {
    await this.connecting;
  }

  /**
   * Drops its connection (the socket destroyed, no DISCONNECT: its will and session stay);
   * it connects again as after its node died, once `until` resolved.
   */
  bounce(until: Promise<void> = Promise.resolve()): void {
    this.held = until;
    this.client?.stream.destroy();
  }

  /** Disconnects for good (the session stays). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.connecting;
    await this.client?.endAsync(true);
  }

  private connect(live: LiveNodes): Promise<void> {
    this.connecting = (async () => {
      await this.held;
      const first = this.client === undefined;
      const options: IClientOptions = {
        clientId: this.clientId,
        protocolVersion: this.protocolVersion,
        clean: false,
        ...(this.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
        ...this.stores,
      };
      const result = await connectToLive(
        live,
        options,
        () => this.stopping,
        (payload, how, topic) => {
          if (topic !== this.topic) this.foreign.push(`${topic} ${payload}`);
          this.received.set(payload, (this.received.get(payload) ?? 0) + 1);
          const arrivals = this.arrivals.get(payload);
          if (arrivals === undefined) this.arrivals.set(payload, [how]);
          else arrivals.push(how);
        },
      );
      if (result === undefined) return;
      if (!first && !result.sessionPresent) this.sessionsLost++;
      this.client = result.client;
      this.node = result.url;
      this.timeline.push(`${Date.now()} connected ${result.url} present ${result.sessionPresent}`);
      result.client.once('close', () => {
        this.timeline.push(`${Date.now()} closed ${result.url}`);
        this.node = undefined;
        if (!this.stopping) void this.connect(this.live);
      });
    })();
    return this.connecting;
  }
}

/** One subscriber's node-death window (from the kill of its node until a probe reached it). */
export interface CrashWindow {
  /**
   * Its session moved on from the survivor that adopted it to another node (the client
   * reconnected there: a takeover, logged "session moved to another node"), known at the end.
   */
  moved: boolean;
  /** Which kill opened it (round, node, node id, time): what a lost message's log shows. */
  kill: string;
}

/** A message a publisher got PUBACK/PUBCOMP for. */
export interface Acknowledged {
  payload: string;
  topic: string;
  qos: 1 | 2;
  /** Sent or acknowledged while its subscriber's session was in a node-death window. */
  inWindow: boolean;
  /** That window (the last one, when it was sent in one and acknowledged in the next). */
  window: CrashWindow | undefined;
  /** The node it was published on, and when its acknowledgement came (for a lost one's log). */
  via: string;
  at: number;
}

/** A publisher sending to the subscribers' topics in turn, one message at a time. */
export class CrashPublisher {
  readonly acknowledged: Acknowledged[] = [];
  /** Messages sent whose acknowledgement never came (the connection died first). */
  unacknowledged = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private seq = 0;

  constructor(
    readonly clientId: string,
    readonly protocolVersion: 4 | 5,
    readonly qos: 1 | 2,
    private readonly topics: string[],
    private readonly live: LiveNodes,
    /** The node-death window the session subscribed to `topic` is in, if any. */
    private readonly windowOf: (topic: string) => CrashWindow | undefined,
  ) {}

  /** Starts publishing (first on `url`, then on any live node). */
  start(url: string): void {
    this.loop = this.run(url);
  }

  /** Stops after the message in flight; resolves once stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(firstUrl: string): Promise<void> {
    let live: LiveNodes = () => [firstUrl];
    while (!this.stopping) {
      const connected = await connectToLive(
        live,
        { clientId: this.clientId, protocolVersion: this.protocolVersion, clean: true },
        () => this.stopping,
      );
      live = this.live;
      if (connected === undefined) return;
      await this.publishUntilClosed(connected.client, connected.url);
      connected.client.end(true);
    }
  }

  private async publishUntilClosed(client: MqttClient, via: string): Promise<void> {
    const closed = new Promise<false>((resolve) => client.once('close', () => resolve(false)));
    while (!this.stopping && client.connected) {
      const topic = this.topics[this.seq % this.topics.length]!;
      const payload = `${this.clientId}-${this.seq++}`;
      const windowAtSend = this.windowOf(topic);
      const acked = client
        .publishAsync(topic, payload, { qos: this.qos })
        .then(() => true)
        .catch(() => false);
      if (!(await Promise.race([acked, closed]))) {
        this.unacknowledged++;
        return;
      }
      const window = this.windowOf(topic) ?? windowAtSend;
      this.acknowledged.push({
        payload,
        topic,
        qos: this.qos,
        inWindow: window !== undefined,
        window,
        via,
        at: Date.now(),
      });
    }
  }
}
