/** Ports: the interfaces through which the core reaches time, randomness, logs and storage. */
export * from './clock.js';
export * from './logger.js';
export * from './random.js';
export * from './store.js';
