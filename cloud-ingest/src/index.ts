export { startCloud, type RunningCloud } from './cloud.js';
export { loadConfig, parseConfig, type CloudConfig } from './config.js';
export { ConfigError } from './config-error.js';
export { hashPassword, verifyPassword } from './password-hash.js';
export { loadRegistry, parseRegistry, type RegistryFile } from './registry-file.js';
export { createSqliteSink } from './sink/sqlite-sink.js';
export type * from './sink/sink.js';
export { createCloudMetrics, type CloudMetrics } from './metrics.js';
export { CLOUD_DB_FILE, openDatabase } from './store/open-database.js';
