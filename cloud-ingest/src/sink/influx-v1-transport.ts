import type { Transport } from '@influxdata/influxdb-client';

/** The client's precisions as InfluxDB 1.x /write spells them (1.6.7 would read `us` as nanoseconds). */
const V1_PRECISION: Record<string, string> = { ns: 'n', us: 'u', ms: 'ms', s: 's' };

/** Thrown when the client asks for a write path this rewrite does not know (a client upgrade changed it). */
export class InfluxPathError extends Error {
  override name = 'InfluxPathError';
}

/**
 * `/api/v2/write?org=…&bucket=db/rp&precision=ms` → `/write?db=db&rp=rp&precision=ms`.
 * The bucket follows InfluxDB 1.8's convention: `database/retention-policy`, or just `database`.
 */
export function v2WritePathToV1(path: string): string {
  const q = path.indexOf('?');
  if (path.slice(0, q < 0 ? undefined : q) !== '/api/v2/write') return path;
  const params = new URLSearchParams(path.slice(q + 1));
  const bucket = params.get('bucket');
  if (!bucket) throw new InfluxPathError(`write path without a bucket: ${path}`);
  const slash = bucket.indexOf('/');
  const out = new URLSearchParams({ db: slash < 0 ? bucket : bucket.slice(0, slash) });
  const rp = slash < 0 ? '' : bucket.slice(slash + 1);
  if (rp) out.set('rp', rp);
  const precision = params.get('precision') ?? 'ns';
  const v1 = V1_PRECISION[precision];
  if (v1 === undefined) throw new InfluxPathError(`unknown write precision ${JSON.stringify(precision)}`);
  out.set('precision', v1);
  const consistency = params.get('consistency');
  if (consistency) out.set('consistency', consistency);
  return `/write?${out}`;
}

/**
 * Wraps the client's transport so its v2 writes reach an InfluxDB 1.x before 1.8 (Debian's 1.6.7
 * has only /write and /query). Everything else (batching, retries, gzip) stays the client's.
 */
export function v1WriteTransport(inner: Transport): Transport {
  return {
    send: (path, body, options, callbacks) => inner.send(v2WritePathToV1(path), body, options, callbacks),
    request: (path, body, options, responseStarted) =>
      inner.request(v2WritePathToV1(path), body, options, responseStarted),
    iterate: (path, body, options) => inner.iterate(v2WritePathToV1(path), body, options),
    chunkCombiner: inner.chunkCombiner,
  };
}
