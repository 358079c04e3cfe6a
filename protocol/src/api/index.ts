/**
 * The cloud's HTTP API and live stream as zod schemas with their inferred types
 * (`@village/protocol/api`, docs/api.md): the one contract the cloud's routes annotate their
 * answers with, the dashboards check responses and stream messages against, and the e2e tests read.
 */
export * from './api-error.js';
export * from './values.js';
export * from './session.js';
export * from './places.js';
export * from './telemetry.js';
export * from './edges.js';
export * from './alerts.js';
export * from './incidents.js';
export * from './stream.js';
export * from './commands.js';
export * from './dead-letters.js';
export * from './tokens.js';
export * from './registry-admin.js';
export * from './published-aqi.js';
export * from './quality-flags.js';
