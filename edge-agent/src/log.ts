import { pino } from 'pino';

/** Structured logs: one JSON object per line on stdout. */
export function createLogger(level: string, name: string) {
  return pino({ level, base: { svc: name }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type Logger = ReturnType<typeof createLogger>;
