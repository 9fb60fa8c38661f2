/** The highest message id a store has seen, shared by its message and retained parts. */
export class MessageIds {
  /** Highest id stored so far (0 if none). */
  last = 0;

  /** Notes an id being stored. */
  saw(id: number): void {
    if (id > this.last) this.last = id;
  }
}
