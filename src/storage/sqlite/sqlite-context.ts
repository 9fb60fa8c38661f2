/**
 * What the SQLite store's port parts share: the open connection (database, prepared
 * statements, group commit), the message GC candidates and the last message id.
 */
import type Database from 'better-sqlite3';
import { GcCandidates } from '../shared/message-gc.js';
import { MessageIds } from '../shared/message-ids.js';
import type { GroupCommit } from './group-commit.js';
import type { Statements } from './statements.js';

/** How long an unreferenced message waits before it is collected (see GcCandidates). */
const GC_DELAY_MS = 1000;

/** An open connection. */
export interface SqliteLive {
  db: Database.Database;
  stm: Statements;
  batcher: GroupCommit;
}

/** The shared state of one SQLite store. */
export class SqliteContext {
  /** Set while the store is open. */
  live: SqliteLive | undefined;
  readonly gcCandidates = new GcCandidates(GC_DELAY_MS);
  /** Highest message id stored (messages and retained), written to `meta` at commit. */
  readonly ids = new MessageIds();
  private lastMessageIdWritten = 0;

  constructor(
    /** Path of the database file (for errors). */
    readonly file: string,
  ) {}

  /** The open connection; throws when the store is not open. */
  conn(): SqliteLive {
    if (this.live === undefined) throw new Error(`${this.file}: the store is not open`);
    return this.live;
  }

  /** The store opened with `lastMessageId` as the highest id on disk. */
  opened(live: SqliteLive, lastMessageId: number): void {
    this.live = live;
    this.ids.saw(lastMessageId);
    this.lastMessageIdWritten = this.ids.last;
  }

  /** Runs inside each batch's transaction just before COMMIT: message GC, last message id. */
  beforeCommit(stm: Statements): void {
    for (const id of this.gcCandidates.takeDue()) stm.collectMessage.run({ id });
    if (this.ids.last > this.lastMessageIdWritten) {
      stm.setLastMessageId.run({ id: this.ids.last });
      this.lastMessageIdWritten = this.ids.last;
    }
  }
}
