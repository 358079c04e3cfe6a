// What every bin shares (README.md): one concern per module.
export * from './build-info.js';
export * from './config-error.js';
export * from './env-expansion.js';
export * from './log.js';
export * from './port-error.js';
export * from './sqlite-backup.js';
export * from './yaml-file.js';
export * from './zod-issues.js';
