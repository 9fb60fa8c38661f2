/**
 * Who holds a session: the one place a session is live, so that a second claim knows whom to
 * take it over from [MQTT-3.1.4-3]. A local connection is a holder today; a remote node of a
 * cluster (holding the client's connection there) implements the same interface tomorrow, and
 * the session registry takes over from either without knowing which it is.
 */

/** The current holder of a session. */
export interface SessionHolder {
  /**
   * Another client claimed the session: let go of it. A local connection closes at once
   * (MQTT 5 DISCONNECT 0x8E Session taken over) and returns nothing, so a takeover on one
   * node stays synchronous. A remote holder returns a promise that settles once it has let
   * go (its node closed the connection and handed over what the session holds); the claim
   * waits for it. Called again while that promise is pending, it returns the same promise.
   */
  takeOver(): void | Promise<void>;
}
