import type { Transport } from '@influxdata/influxdb-client';

/** One series of an InfluxQL result (`epoch=ms`: times are ms numbers). */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** InfluxDB answered a query with an error (bad statement, unknown database, ...). */
export class InfluxQueryError extends Error {
  override name = 'InfluxQueryError';
}

/** An identifier in double quotes (InfluxQL: `"` and `\` escaped). */
export const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** A string literal in single quotes. */
export const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Runs InfluxQL statements over /query (InfluxDB 1.x, the 2.x v1-compatibility API, 3.x) through
 * the client's transport, so auth headers, timeouts and the proxy settings are the write path's.
 * Returns the series of each statement, in order.
 */
export async function influxQuery(
  transport: Transport,
  database: string,
  retentionPolicy: string,
  statements: string[],
  auth: { username?: string; password?: string } = {},
): Promise<InfluxSeries[][]> {
  if (statements.length === 0) return [];
  const form = new URLSearchParams({ db: database, epoch: 'ms', q: statements.join(';\n') });
  if (retentionPolicy) form.set('rp', retentionPolicy);
  if (auth.username !== undefined) form.set('u', auth.username);
  if (auth.password !== undefined) form.set('p', auth.password);
  const body = (await transport.request('/query', form.toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })) as { results?: { statement_id?: number; series?: InfluxSeries[]; error?: string }[]; error?: string };
  if (body.error) throw new InfluxQueryError(`InfluxDB refused the query: ${body.error}`);
  const out: InfluxSeries[][] = statements.map(() => []);
  for (const [i, r] of (body.results ?? []).entries()) {
    if (r.error) throw new InfluxQueryError(`InfluxDB refused statement ${i + 1}: ${r.error}`);
    out[r.statement_id ?? i] = r.series ?? [];
  }
  return out;
}
