/**
 * `${NAME}` in a config string is replaced by the environment variable NAME, so secrets (InfluxDB
 * token, broker password) never sit in the YAML file. An unset variable is an error naming it,
 * not an empty password.
 */
export function expandEnvReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`environment variable ${name} is not set`);
    return v;
  });
}
