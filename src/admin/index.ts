/** The read and command API for operators and tools (`broker.admin`). */
export { AdminApi } from './admin-api.js';
export type { DeleteSessionOptions } from './commands.js';
export { InvalidRequestError } from './errors.js';
export * from './types.js';
