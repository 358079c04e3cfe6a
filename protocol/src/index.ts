export * from './types.js';
export * from './errors.js';
export * from './limits.js';
export * from './topics.js';
export * from './reading-check.js';
export * from './batch-codec.js';
export * from './ack-codec.js';
export * from './control-json.js';
