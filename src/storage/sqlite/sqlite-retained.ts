/** The retained port of the SQLite store: one row per topic, in the store's current batch. */
import type { RetainedLoad, StoredMessage } from '../../ports/index.js';
import { loadRetainedRows } from './load-retained.js';
import { matchRetainedRows } from './match-retained.js';
import { explain } from './open-database.js';
import { retainedParams } from './rows.js';
import type { SqliteContext } from './sqlite-context.js';

/** Retained messages by topic. */
export class SqliteRetained {
  constructor(private readonly ctx: SqliteContext) {}

  putRetained(message: StoredMessage): void {
    const { stm, batcher } = this.ctx.conn();
    this.ctx.ids.saw(message.id);
    batcher.run(() => stm.putRetained.run(...retainedParams(message)));
  }

  deleteRetained(topic: string): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.deleteRetained.run(topic));
  }

  async matchRetained(filter: string, now: number): Promise<StoredMessage[]> {
    const { stm, batcher } = this.ctx.conn();
    try {
      return matchRetainedRows(stm, batcher, filter, now);
    } catch (err) {
      throw explain(err, this.ctx.file);
    }
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    const { stm, batcher } = this.ctx.conn();
    try {
      return loadRetainedRows(stm, batcher, now, accept);
    } catch (err) {
      throw explain(err, this.ctx.file);
    }
  }

  /** Number of retained messages stored, committed or not. */
  countRetained(): number {
    return this.ctx.conn().stm.countRetained.get() as number;
  }
}
