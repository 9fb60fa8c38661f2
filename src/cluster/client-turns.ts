/**
 * The steps other nodes ask of this one for a client id (hold, release, takeover), run one
 * at a time per client id and after this node's own claim of it: a hold for a session still
 * landing here waits for the landing, and a second takeover from a third node waits for the
 * first move, so the session has one owner at a time and no stand-in is left behind.
 */
import type { Logger } from '../ports/index.js';

/** Move steps in turn, per client id. */
export class ClientTurns {
  /** Per client id, the last step asked of this node. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    private readonly logger: Logger,
    /** This node's own claim of the client id under way, if any (it never waits on us). */
    private readonly claiming: (clientId: string) => Promise<void> | undefined,
  ) {}

  /**
   * Runs `step` once the steps asked before it for `clientId` and this node's claim of it are
   * done. Each wait is bounded: claims and steps time out. Never rejects (a failure is logged).
   */
  run(clientId: string, step: () => Promise<void>): Promise<void> {
    const before = this.turns.get(clientId) ?? Promise.resolve();
    const turn = before
      .then(() => this.claiming(clientId)?.catch(() => {}))
      .then(step)
      .catch((err: unknown) => {
        this.logger.warn({ err: String(err), clientId }, 'cluster: session move step failed');
      })
      .finally(() => {
        if (this.turns.get(clientId) === turn) this.turns.delete(clientId);
      });
    this.turns.set(clientId, turn);
    return turn;
  }
}
