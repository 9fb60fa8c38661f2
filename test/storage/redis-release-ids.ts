/** The message ids of the `once` run of redis-release-writer.ts: ONCE_BASE + 1 to + 6. */
export const ONCE_BASE = 3_870_280_929_771_520;
