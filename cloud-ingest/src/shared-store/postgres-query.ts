/**
 * One statement outside a transaction, as postgres-shared-store.ts's `q` runs it (typed errors,
 * bounded waits): what each concern's PostgreSQL half (postgres-commands.ts and its siblings) is
 * given to run its statements.
 */
export type Query = <R extends object>(text: string, values?: unknown[]) => Promise<R[]>;
