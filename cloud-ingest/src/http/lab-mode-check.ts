import { ConfigError } from '@village/service-kit';
import type { CloudConfig } from '../config.js';

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Lab mode (no users) means an open API: anyone who reaches it can read every village and switch
 * every siren. That is only acceptable on loopback, so a non-loopback http.host is a config error
 * unless http.allowInsecureLab says, in the file, that someone chose it.
 */
export function checkLabModeAddress(config: CloudConfig, fileName = config.configFile): void {
  const labMode = (config.users ?? []).length === 0;
  if (!labMode || isLoopback(config.http.host) || config.http.allowInsecureLab) return;
  throw new ConfigError(
    `${fileName}: http.host: ${config.http.host} is not a loopback address, and with no users configured ` +
      'the API is open to anyone who reaches it (lab mode): add users, listen on 127.0.0.1, or set ' +
      'http.allowInsecureLab: true to accept that',
  );
}
