/**
 * Per-client session loading for the session registry: before a client id the registry holds
 * no session for is claimed, its session is read from the store (`loadStoredSession`). A
 * single node restores every session at start and needs none of this; a node that shares its
 * store with others (a cluster) installs it, since another node may have written the session
 * since this one started: `core.registry.loadWith(new StoredSessionLoader(core, persistence))`.
 */
import { isMqttError, MqttError, ReasonCode } from '../protocol/index.js';
import type { Persistence } from './persistence.js';
import { loadStoredSession, type RestoreTarget } from './restore.js';
import type { SessionLoader } from './session-registry.js';

/** How many read-but-not-yet-claimed client ids are remembered at most. */
const MAX_REMEMBERED = 10_000;

/** A {@link SessionLoader} that reads one client's session from the store. */
export class StoredSessionLoader implements SessionLoader {
  /** Reads in progress, so that concurrent claims of one client id wait for the same one. */
  private readonly reading = new Map<string, Promise<void>>();
  /**
   * Client ids read, and found without a session, since their last claim: the claim that
   * follows goes on without a read (and opens a new session).
   */
  private readonly read = new Set<string>();

  constructor(
    private readonly core: RestoreTarget,
    private readonly persistence: Persistence,
  ) {}

  load(clientId: string): Promise<void> | undefined {
    if (this.read.delete(clientId)) return undefined;
    const pending = this.reading.get(clientId);
    if (pending !== undefined) return pending;
    const env = this.core.registry.environment;
    // A failed read (the store is down, or the session does not fit the memory budget:
    // MqttError 0x97) rejects the claim, so the client is refused rather than given a new,
    // empty session in place of the one it has; its next connect reads again. A store that
    // cannot be read is 0x88 Server unavailable (v3 0x03): the client may retry elsewhere.
    const reading = loadStoredSession(this.core, this.persistence, env, clientId).then(
      () => {
        this.reading.delete(clientId);
        // A session read is in the registry: the claim finds it and asks no loader, so only a
        // read that found none is remembered (a mark left for a session in memory would make
        // a claim after that session left, e.g. moved to another node, skip its read).
        if (this.core.registry.sessions.has(clientId)) return;
        // A claim abandoned in between (its connection closed) leaves its id here: bounded,
        // and forgetting one costs only a second read.
        if (this.read.size >= MAX_REMEMBERED) this.read.clear();
        this.read.add(clientId);
      },
      (err: unknown) => {
        this.reading.delete(clientId);
        if (isMqttError(err)) throw err;
        throw new MqttError(
          ReasonCode.ServerUnavailable,
          `the session could not be read from the store: ${(err as Error).message ?? err}`,
        );
      },
    );
    this.reading.set(clientId, reading);
    return reading;
  }
}
