/** A config or registry file that cannot be used; the bin exits 2 with this message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
