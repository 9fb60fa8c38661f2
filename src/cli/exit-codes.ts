/**
 * Exit codes of `pub` and `sub` besides 0 and 1, with the values mosquitto_pub and
 * mosquitto_sub use (see cli-errors.ts for when each applies).
 */

/** The connection was lost while working (libmosquitto's MOSQ_ERR_CONN_LOST). */
export const EXIT_CONNECTION_LOST = 7;
/** The TLS handshake failed (libmosquitto's MOSQ_ERR_TLS). */
export const EXIT_TLS = 8;
/** `sub -W`: the time ran out. */
export const EXIT_TIMEOUT = 27;
