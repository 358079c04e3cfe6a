import { createRequire } from 'node:module';
import { type DestinationStream, type LoggerOptions, pino } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded only for `format: pretty`: a service logging JSON (an edge box, 2 GB) need not carry it.
const loadPretty = () => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/**
 * The log schema every bin writes (e2e/test/log-schema.test.ts holds them to it): one JSON
 * object per line on stdout with `time` (ISO 8601, UTC), `level` (a name: debug, info, warn,
 * ...), `svc` (which bin), `msg`, then the fields of the line. `format: pretty` is for a person at
 * a terminal (pino-pretty); JSON is for journald and collectors.
 */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_SCHEMA_OPTIONS = {
  timestamp: pino.stdTimeFunctions.isoTime,
  messageKey: 'msg',
  formatters: { level: (label: string) => ({ level: label }) },
} satisfies LoggerOptions;

export function createLogger(level: string, svc: string, format: LogFormat = 'json') {
  const stream: DestinationStream =
    format === 'pretty'
      ? loadPretty()({ colorize: process.stdout.isTTY === true, sync: true, translateTime: 'SYS:standard' })
      : pino.destination({ dest: 1, sync: true });
  return pino({ ...LOG_SCHEMA_OPTIONS, level, base: { svc } }, stream);
}

export type Logger = ReturnType<typeof createLogger>;
