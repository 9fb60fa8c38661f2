/** The package version (read in src/ops/version.ts, shared with the broker's `$SYS` tree). */
export { packageVersion } from '../ops/version.js';
