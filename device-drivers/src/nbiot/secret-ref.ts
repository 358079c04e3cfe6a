/**
 * Secrets in driver configs may be written as `${ENV_VAR}` so that edge.yaml (and the repo's
 * examples) never hold plaintext keys. A literal value is returned unchanged.
 */
const REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(`${where}: environment variable ${variable} is not set`);
  }
}

export function resolveSecret(value: string, where: string, env: NodeJS.ProcessEnv = process.env): string {
  const m = REF.exec(value);
  if (!m) return value;
  const v = env[m[1]!];
  if (v === undefined || v === '') throw new MissingSecretError(m[1]!, where);
  return v;
}
