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
 * Reads the uplink's TLS files once at start. The cloud's certificate must chain to `ca` and name
 * the host of `cloud.url` (mqtt.js checks both); with `cert` and `key` the edge also proves who it
 * is, for a broker that requires client certificates. Problems are ConfigErrors naming the key.
 */
export function uplinkTlsOptions(
  url: string,
  tls: UplinkTlsConfig | undefined,
  configDir: string,
  file = 'edge.yaml',
): UplinkTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (!url.startsWith('mqtts://')) {
    throw new ConfigError(`${file}: cloud.tls: needs an mqtts:// cloud.url (got ${url})`);
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
