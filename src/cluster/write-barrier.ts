/**
 * What an acknowledgement waits for of a part that writes to Redis in batches, once per
 * event-loop turn (the outbox's forwards, the route table): the core's commit
 * (`Persistence.join`) waits for the batch holding everything written so far. Each write is
 * noted (`Persistence.noteWrite`) so that the step that caused it waits; a step that caused
 * none (a publish no other node wants) waits for nothing and costs no round trip.
 */

/** What a commit with nothing to wait for answers: one promise (callers may compare them). */
const SETTLED: Promise<void> = Promise.resolve();

/** Tracks one part's batches: the one being filled and the last one sent. */
export class WriteBarrier {
  private waiting: { promise: Promise<void>; settle: (write: Promise<void>) => void } | undefined;
  private inFlight: Promise<void> | undefined;

  /** `noteWrite` is told of each write (the core's mutation count), when there is a core store. */
  constructor(private readonly noteWrite: (() => void) | undefined) {}

  /** A write joined the batch being filled. */
  wrote(): void {
    this.noteWrite?.();
  }

  /** The batch being filled was sent as `write` (it rejects when a write failed). */
  sent(write: Promise<void>): void {
    // then(), not finally(): finally adds two promises of its own per batch (the callback's
    // result resolved, then the value passed on), and a batch is sent every forwarding turn.
    const tracked: Promise<void> = write.then(
      () => {
        if (this.inFlight === tracked) this.inFlight = undefined;
      },
      (err: unknown) => {
        if (this.inFlight === tracked) this.inFlight = undefined;
        throw err;
      },
    );
    tracked.catch(() => {}); // reported to the waiters, and by the part itself
    this.inFlight = tracked;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.settle(write);
  }

  /**
   * Settles once everything written so far is answered: the batch being filled when
   * `filling`, else the last one sent (batches on one connection are answered in order).
   */
  commit(filling: boolean): Promise<void> {
    if (!filling) return this.inFlight ?? SETTLED;
    if (this.waiting === undefined) {
      let settle!: (write: Promise<void>) => void;
      const promise = new Promise<void>((resolve, reject) => {
        settle = (write) => write.then(resolve, reject);
      });
      this.waiting = { promise, settle };
    }
    return this.waiting.promise;
  }
}
