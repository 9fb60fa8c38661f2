/**
 * Operations: what the broker tells its operator by itself, the `$SYS` tree (sys-topics.ts)
 * and its version. The composition root (src/broker.ts) starts it.
 */
export { LOAD_WINDOWS, LoadAverage } from './load-average.js';
export { SysTopics, type SysTopicsOptions } from './sys-topics.js';
export { SYS_PREFIX } from './sys-values.js';
export { packageVersion } from './version.js';
