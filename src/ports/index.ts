/** Ports: the interfaces through which the core reaches time, logs, storage and the cluster. */
export * from './clock.js';
export * from './logger.js';
export * from './store.js';
