/**
 * A file loaded into memory that can be re-read (on SIGHUP). A failed reload keeps the
 * previous contents, so a half-edited file never locks everyone out.
 */

/** Something with a current value: a {@link Reloadable} or a fixed holder. */
export interface Current<T> {
  readonly current: T;
}

/** A value loaded from a file, replaced by {@link Reloadable.reload}. */
export class Reloadable<T> implements Current<T> {
  private value: T;

  private constructor(
    readonly path: string,
    private readonly loader: (path: string) => Promise<T>,
    initial: T,
  ) {
    this.value = initial;
  }

  /** Loads `path` with `loader`; errors propagate. */
  static async load<T>(path: string, loader: (path: string) => Promise<T>): Promise<Reloadable<T>> {
    return new Reloadable(path, loader, await loader(path));
  }

  /** The contents of the last successful load. */
  get current(): T {
    return this.value;
  }

  /**
   * Re-reads the file. On success the new contents replace the old ones at once (hooks read
   * `current` per check); on failure the old contents stay and the error is thrown.
   */
  async reload(): Promise<T> {
    const next = await this.loader(this.path);
    this.value = next;
    return next;
  }
}

/** Wraps a fixed value as a {@link Current}. */
export function fixed<T>(value: T): Current<T> {
  return { current: value };
}
