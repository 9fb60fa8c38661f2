/**
 * The error thrown for a bad line in a password or ACL file. Its message reads
 * `<source>:<line>: <problem>` so an operator can jump straight to it.
 */
export class FileFormatError extends Error {
  override readonly name = 'FileFormatError';

  /**
   * @param source the file path (or a label such as `<inline>` for parsed text)
   * @param line 1-based line number, or 0 when the problem is not tied to one line
   * @param problem what is wrong, in a few words
   */
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${source}:${line}: ${problem}` : `${source}: ${problem}`);
  }
}

/**
 * Splits file text into lines, accepting `\n` and `\r\n` endings (files edited on Windows).
 */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}
