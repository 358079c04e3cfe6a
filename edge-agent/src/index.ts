export { loadEdgeConfig, ConfigError, type EdgeConfig } from './config.js';
export { startEdgeAgent, type EdgeAgent } from './agent.js';
export type { Outbox, StoredBatch, CutPolicy, OutboxStats } from './outbox.js';
export { openSqliteOutbox } from './sqlite-outbox.js';
export { DRIVER_KIND_NAMES, loadDriverKinds, registerDriverKind } from './driver-kinds.js';
