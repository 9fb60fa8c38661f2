/**
 * A write an acknowledgement waited for was refused for a known reason other than the
 * store's (e.g. a cluster forward refused because its target node had left the cluster).
 * The core then logs and reports that reason ("<reason>: not acknowledging", the
 * disconnect reason of a 3.x client) instead of "store write failed".
 */
export class WriteRefused extends Error {
  /**
   * @param reason What happened, in a few words (the log line and the disconnect reason).
   * @param message The details (the error's message, logged with it).
   */
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'WriteRefused';
  }
}
