import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '@village/service-kit';
import type { CloudConfig } from '../config.js';

export interface HttpTls {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads `http.tls` and checks that certificate and key load together, so a start and `--check`
 * both refuse a missing file or a mismatched pair naming the key. Undefined without TLS.
 */
export function loadHttpTls(config: CloudConfig): HttpTls | undefined {
  if (!config.http.tls) return undefined;
  const file = config.configFile;
  const read = (path: string, key: 'cert' | 'key') => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${file}: http.tls.${key}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const tls = { cert: read(config.http.tls.cert, 'cert'), key: read(config.http.tls.key, 'key') };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw new ConfigError(`${file}: http.tls: certificate and key do not load: ${(err as Error).message}`);
  }
  return tls;
}
