import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { LIMITS } from '@village/protocol';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { isPasswordHash } from './password-hash.js';
import { describeIssues } from './zod-issues.js';

const EDGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const port = z.number().int().min(0).max(65535);

const configSchema = z.strictObject({
  /** Folder of the SQLite files (cloud.db), relative to the config file. */
  dataDir: z.string().min(1).default('./data'),
  /** Registry file (places, edges, devices, people), relative to the config file; none = empty registry. */
  registry: z.string().min(1).optional(),
  mqtt: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port of the embedded broker; 0 = ephemeral (the bound port is logged in "cloud ready"). */
      port: port.default(1883),
      /**
       * Largest MQTT packet accepted, bytes. MQTT 3.1.1 cannot advertise it, so a larger packet
       * closes the connection. Default: the batch limit plus room for topic and header.
       */
      maxPacketBytes: z
        .number()
        .int()
        .min(LIMITS.maxControlBytes)
        .default(LIMITS.maxBatchBytes + 64 * 1024),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port of the HTTP API; 0 = ephemeral. */
      port: port.default(8080),
    })
    .prefault({}),
  /** Per-edge MQTT credentials: username = edge id, password checked against the scrypt hash. */
  edges: z
    .array(
      z.strictObject({
        id: z.string().regex(EDGE_ID, 'must be a valid edge id ([A-Za-z0-9][A-Za-z0-9._:-]{0,127})'),
        passwordHash: z
          .string()
          .refine(
            isPasswordHash,
            'must be a hash printed by `village-cloud hash-password` (scrypt$N$r$p$salt$hash)',
          ),
      }),
    )
    .default([])
    .refine((edges) => new Set(edges.map((e) => e.id)).size === edges.length, 'edge ids must be unique'),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .prefault({}),
});

export type CloudConfig = z.infer<typeof configSchema>;

/** Validates a config object; relative paths resolve against `baseDir`. Throws ConfigError. */
export function parseConfig(raw: unknown, baseDir: string, fileName = 'cloud.yaml'): CloudConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(describeIssues(fileName, result.error.issues));
  const config = result.data;
  return {
    ...config,
    dataDir: resolve(baseDir, config.dataDir),
    registry: config.registry === undefined ? undefined : resolve(baseDir, config.registry),
  };
}

/** Reads and validates a YAML config file. Throws ConfigError naming the file and key. */
export function loadConfig(path: string): CloudConfig {
  const fileName = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${fileName}: cannot read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${fileName}: not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(path)), fileName);
}
