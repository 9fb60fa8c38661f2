/**
 * Requests to other nodes over their control channels (`control:<id>`), each waiting for its
 * answer (matched by `req`) or a timeout.
 */
import { publish, type RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';

/** Control requests out, and their answers in. */
export class ControlRequests {
  private readonly waiting = new Map<string, (answer: ControlMessage | undefined) => void>();
  private requests = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly selfId: () => number,
  ) {}

  /** A request id unique to this node (its id, a counter). */
  nextId(): string {
    return `${this.selfId()}-${++this.requests}`;
  }

  /**
   * Sends `request` (its `req` set here) to node `nodeId`'s control channel; resolves with
   * the answer, or undefined when none came within `timeoutMs`.
   */
  async ask(
    nodeId: number,
    request: ControlMessage & { req: string },
    timeoutMs: number,
  ): Promise<ControlMessage | undefined> {
    const req = this.nextId();
    request.req = req;
    const answered = new Promise<ControlMessage | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(req);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(req, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(req);
        resolve(answer);
      });
    });
    await publish(this.redis, this.keys.control(nodeId), JSON.stringify(request));
    return answered;
  }

  /**
   * Stops waiting for the answer to request `req` (its asker gave up: the node is gone): it
   * resolves undefined now, and its timer does not keep the process up.
   */
  giveUp(req: string): void {
    this.waiting.get(req)?.(undefined);
  }

  /** An answer came (`released`, `held`): the request waiting for it goes on. */
  answered(answer: ControlMessage & { req: string }): void {
    this.waiting.get(answer.req)?.(answer);
  }
}
