import { ConfigError } from '@village/service-kit';
import type { InfluxSinkConfig } from './influx-config.js';

/**
 * What the cloud checks of InfluxDB before it says "cloud ready" (and `--check --connect` too):
 * it answers /ping, the API generation is known, and the database exists (made here when
 * `createDatabase: true`). Otherwise every batch would fail later, one stack trace each.
 */

/** InfluxDB does not answer at all: a restart may help (it may still be starting), so exit 1. */
export class InfluxUnreachableError extends Error {
  override readonly name = 'InfluxUnreachableError';
  readonly code = 'influx_unreachable';
}

/** InfluxDB answers but cannot be used as configured (no database, refused credentials): exit 2. */
export class InfluxSetupError extends ConfigError {
  constructor(
    readonly code: 'influx_no_database' | 'influx_refused' | 'influx_query_failed',
    message: string,
  ) {
    super(message);
  }
}

export type InfluxApi = 'v1' | 'v2';

/**
 * `/write` or `/api/v2/write` from /ping's X-Influxdb-Version when `api` is left out: 1.x before
 * 1.8 (Debian's 1.6.7) has only /write; 1.8, 2.x and 3.x take /api/v2/write.
 */
export function apiForVersion(version: string | null): InfluxApi {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return 'v2';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major === 1 && minor < 8 ? 'v1' : 'v2';
}

function authHeaders(config: InfluxSinkConfig): Record<string, string> {
  if (config.username !== undefined) {
    return {
      authorization: `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`,
    };
  }
  if (config.token !== undefined) return { authorization: `Token ${config.token}` };
  return {};
}

async function call(
  config: InfluxSinkConfig,
  file: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  try {
    return await fetch(new URL(path, config.url), {
      ...init,
      headers: { ...authHeaders(config), ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new InfluxUnreachableError(`${file}: sink.url: ${config.url}: InfluxDB does not answer (${cause})`);
  }
}

async function influxQl(config: InfluxSinkConfig, file: string, q: string): Promise<unknown> {
  const res = await call(config, file, '/query', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
  });
  if (res.status === 401 || res.status === 403) {
    throw new InfluxSetupError(
      'influx_refused',
      `${file}: sink: ${config.url} refused the credentials (HTTP ${res.status}); check sink.username/password or sink.token`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string; results?: { error?: string }[] };
  const error = body.error ?? body.results?.[0]?.error;
  if (!res.ok || error) {
    throw new InfluxSetupError(
      'influx_query_failed',
      `${file}: sink: ${config.url}: ${q}: ${error ?? `HTTP ${res.status}`}`,
    );
  }
  return body;
}

export interface InfluxReady {
  api: InfluxApi;
  /** What /ping said, e.g. 1.6.7. */
  version: string;
  createdDatabase: boolean;
}

/** Pings, picks the API, checks (or creates) the database. Throws the errors above with one-line messages. */
export async function prepareInflux(config: InfluxSinkConfig, file: string): Promise<InfluxReady> {
  const ping = await call(config, file, '/ping');
  if (ping.status !== 204 && ping.status !== 200) {
    throw new InfluxUnreachableError(
      `${file}: sink.url: ${config.url}/ping answered HTTP ${ping.status}: is this InfluxDB?`,
    );
  }
  const version = ping.headers.get('x-influxdb-version') ?? 'unknown';
  const api = config.api ?? apiForVersion(version);
  let createdDatabase = false;
  // A 2.x bucket is not a database: it is checked by the first write (its DBRP mapping by the first query).
  if (config.bucket === undefined) {
    const body = (await influxQl(config, file, 'SHOW DATABASES')) as {
      results?: { series?: { values?: string[][] }[] }[];
    };
    const names = (body.results?.[0]?.series?.[0]?.values ?? []).map((v) => v[0]);
    if (!names.includes(config.database)) {
      if (!config.createDatabase) {
        throw new InfluxSetupError(
          'influx_no_database',
          `${file}: sink.database: "${config.database}" does not exist on ${config.url} (InfluxDB ${version}); ` +
            `create it (influx -execute 'CREATE DATABASE "${config.database}"') or set sink.createDatabase: true`,
        );
      }
      await influxQl(config, file, `CREATE DATABASE "${config.database.replace(/["\\]/g, '\\$&')}"`);
      createdDatabase = true;
    }
  }
  return { api, version, createdDatabase };
}
