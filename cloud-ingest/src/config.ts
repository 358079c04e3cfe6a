import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { LIMITS } from '@village/protocol';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { authSchema, usersSchema } from './auth/user-config.js';
import { isEdgeSecretHash } from './broker/edge-secret.js';
import { externalMqttSchema } from './broker/external-config.js';
import { journalSectionSchema } from './broker/external-journal-config.js';
import { ConfigError } from './config-error.js';
import { notifySectionSchema } from './notify/notify-config.js';
import { rulesSectionSchema } from './rules-runtime/rules-config.js';
import { sinkSchema } from './sink/influx-config.js';
import { describeIssues } from './zod-issues.js';

const EDGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const port = z.number().int().min(0).max(65535);

const configSchema = z.strictObject({
  /** Folder of the SQLite files (cloud.db), relative to the config file. */
  dataDir: z.string().min(1).default('./data'),
  /** Registry file (places, edges, devices, people), relative to the config file; none = empty registry. */
  registry: z.string().min(1).optional(),
  /** Embedded aedes broker (default) or `mode: external` (see broker/external-config.ts). */
  mqtt: z
    .preprocess(
      (raw) =>
        raw !== null && typeof raw === 'object' && !('mode' in raw) ? { ...raw, mode: 'embedded' } : raw,
      z.discriminatedUnion('mode', [
        z.strictObject({
          mode: z.literal('embedded'),
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
        }),
        externalMqttSchema,
      ]),
    )
    .prefault({}),
  /** Where readings and events are stored: `kind: sqlite` (default) or `kind: influx` (sink/influx-config.ts). */
  sink: sinkSchema,
  ingest: z
    .strictObject({
      /**
       * TEST KNOB, leave 0 in production: an artificial delay before each batch is committed, ms.
       * The e2e tests use it to make the ingest slower than the edges, so a broker's queue fills.
       */
      testDelayMs: z.number().int().min(0).max(60_000).default(0),
      /** TEST KNOB: the delay applies only during this long after start, ms; 0 = always. */
      testDelayForMs: z.number().int().min(0).default(0),
      /** External mode: the committed-batch journal feeding the one rules worker (broker/external-journal-config.ts). */
      journal: journalSectionSchema,
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port of the HTTP API; 0 = ephemeral. */
      port: port.default(8080),
      /** Folder of the dashboard build, relative to the config file; default: this checkout's dashboards/dist. */
      dashboardDir: z.string().min(1).optional(),
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
            isEdgeSecretHash,
            'must be a hash printed by `village-cloud new-edge-secret` (sha256$hex) or `hash-password` (scrypt$N$r$p$salt$hash)',
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
  /** Rules runtime: thresholds, elder care, incident deadlines (rules-runtime/rules-config.ts). */
  rules: rulesSectionSchema,
  /** Officers who may log in; none = logins off, open API (auth/user-config.ts). */
  users: usersSchema,
  /** Session lifetime and cookie flags (auth/user-config.ts). */
  auth: authSchema,
  /** Incident notifications: MQTT topic and signed webhooks (notify/notify-config.ts). */
  notify: notifySectionSchema,
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
    http: {
      ...config.http,
      dashboardDir:
        config.http.dashboardDir === undefined ? undefined : resolve(baseDir, config.http.dashboardDir),
    },
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
