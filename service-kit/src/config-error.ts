/** A config or registry file that cannot be used; the bin prints the message and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
