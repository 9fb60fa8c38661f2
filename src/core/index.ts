/** The broker engine, without sockets. */
export * from './admin-disconnect.js';
export * from './broker-core.js';
export * from './connection.js';
export * from './connection-sink.js';
export * from './hooks.js';
export * from './message.js';
export * from './metrics.js';
export * from './options.js';
export * from './session.js';
export * from './subscription.js';
