import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config.js';

/** `cloud.tls` of edge.yaml (config.ts): paths relative to the config file. */
export interface UplinkTlsConfig {
  ca: string;
  cert?: string | undefined;
  key?: string | undefined;
}

/** What mqtt.js takes for `mqtts://`: the CA to trust (only it) and the edge's client certificate. */
export interface UplinkTlsOptions {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: true;
}

/**
 * Reads the uplink's TLS files once at start. They apply to every broker of `cloud.url`/`cloud.urls`:
 * each broker's certificate must chain to `ca` and name that broker's host (Node's TLS checks both);
 * with `cert` and `key` the edge also proves who it is, for a broker that requires client
 * certificates. A plain mqtt:// broker beside `tls` is refused: its password would travel in clear.
 * Problems are ConfigErrors naming the key.
 */
export function uplinkTlsOptions(
  urls: readonly string[],
  tls: UplinkTlsConfig | undefined,
  configDir: string,
  file = 'edge.yaml',
): UplinkTlsOptions | undefined {
  if (tls === undefined) return undefined;
  const plain = urls.find((u) => !u.startsWith('mqtts://'));
  if (plain !== undefined) {
    throw new ConfigError(`${file}: cloud.tls: needs an mqtts:// URL for every broker (got ${plain})`);
  }
  const read = (key: 'ca' | 'cert' | 'key', path: string) => {
    const abs = resolve(configDir, path);
    try {
      return readFileSync(abs);
    } catch (err) {
      throw new ConfigError(`${file}: cloud.tls.${key}: cannot read ${abs}: ${(err as Error).message}`);
    }
  };
  return {
    ca: read('ca', tls.ca),
    ...(tls.cert !== undefined ? { cert: read('cert', tls.cert) } : {}),
    ...(tls.key !== undefined ? { key: read('key', tls.key) } : {}),
    rejectUnauthorized: true,
  };
}
