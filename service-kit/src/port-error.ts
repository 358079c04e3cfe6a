/**
 * A port the config names cannot be listened on. The bin prints `file: message` (one line naming
 * the key and the value) and exits 2: restarting will not free the port or fix its number.
 */
export type PortErrorCode = 'port_in_use' | 'port_denied' | 'address_unavailable' | 'bad_port';

export class PortError extends Error {
  override readonly name = 'PortError';
  constructor(
    readonly code: PortErrorCode,
    readonly key: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${key}: ${value}: ${reason}`);
  }
}

const REASONS: Record<string, [PortErrorCode, string]> = {
  EADDRINUSE: ['port_in_use', 'already in use by another process (EADDRINUSE)'],
  EACCES: ['port_denied', 'not allowed to listen there (EACCES; ports below 1024 need privileges)'],
  EADDRNOTAVAIL: ['address_unavailable', 'no such local address on this machine (EADDRNOTAVAIL)'],
  ERR_SOCKET_BAD_PORT: ['bad_port', 'not a port number (0-65535)'],
};

/** A PortError for a listen failure of `key` at `host:port`; any other error unchanged. */
export function portError(err: unknown, key: string, host: string, port: number | string): unknown {
  const code = (err as { code?: string } | undefined)?.code;
  const reason = code === undefined ? undefined : REASONS[code];
  return reason ? new PortError(reason[0], key, `${host}:${port}`, reason[1]) : err;
}
