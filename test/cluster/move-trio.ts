/**
 * The cast of the tests where a session moves onto a node that then dies: a redis-server, the
 * old node the session starts on and a third node (both in this process), and at most one
 * gated `pipit`-like child as the new node (recovery-fixture.ts), with the clients the test
 * opened, all stopped together.
 */
import type { MqttClient } from 'mqtt';
import { endClient } from '../helpers/broker.js';
import type { RawClient } from '../helpers/raw-client.js';
import { startSharedNode, type TestNode } from './cluster-nodes.js';
import { type GatedNode, kill } from './recovery-fixture.js';
import { RedisFixture } from './redis-fixture.js';

/** Redis, the old node, a third node, the new node once started, and the tests' clients. */
export class MoveTrio {
  /** The new node, a gated child, once the test started it. */
  next: GatedNode | undefined;
  /** Clients to end at {@link stop}. */
  readonly clients: MqttClient[] = [];
  /** Raw clients to destroy at {@link stop}. */
  readonly raws: RawClient[] = [];

  private constructor(
    readonly redis: RedisFixture,
    readonly old: TestNode,
    readonly third: TestNode,
  ) {}

  /** Starts Redis and the two in-process nodes. */
  static async start(): Promise<MoveTrio> {
    const redis = await RedisFixture.start();
    const old = await startSharedNode(redis);
    const third = await startSharedNode(redis);
    return new MoveTrio(redis, old, third);
  }

  /** Ends the clients, kills the new node, closes the nodes and stops Redis. */
  async stop(): Promise<void> {
    for (const raw of this.raws) raw.destroy();
    await Promise.all(this.clients.map((c) => endClient(c, true)));
    if (this.next) await kill(this.next.child);
    await this.old.close();
    await this.third.close();
    await this.redis.stop();
  }
}
