import { ConfigError } from './config-error.js';
import { type KeyStyle, formatKey } from './zod-issues.js';

/**
 * `${NAME}` in a config string is replaced by the environment variable NAME, so secrets (InfluxDB
 * token, broker or edge password) never sit in the YAML file. An unset variable is an error
 * naming it, not an empty password.
 *
 * NAME is any POSIX-portable name, lower case included (`[A-Za-z_][A-Za-z0-9_]*`): the edge once
 * took only upper case, so `${edge_pw}` stayed in the password as literal text and the broker
 * refused it with nothing naming the cause.
 */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Expands the references in one string; throws Error `environment variable NAME is not set`. */
export function expandEnvReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(ENV_REFERENCE, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`environment variable ${name} is not set`);
    return v;
  });
}

/**
 * Expands the references in every string of a parsed YAML tree. Throws ConfigError naming the
 * file and the key (`edge.yaml: cloud.password: environment variable EDGE_PW is not set`).
 */
export function expandEnvTree(
  value: unknown,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  style: KeyStyle = 'bracket',
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    try {
      return expandEnvReferences(value, env);
    } catch (err) {
      throw new ConfigError(`${file}: ${formatKey(path, style)}: ${(err as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnvTree(v, file, env, style, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnvTree(v, file, env, style, [...path, k])]),
    );
  }
  return value;
}
