import { basename, dirname, resolve } from 'node:path';
import { ID_PATTERN, LIMITS } from '@village/protocol';
import { ConfigError, LOG_FORMATS, describeIssues, readYamlFile } from '@village/service-kit';
import { z } from 'zod';
import { authSchema, usersSchema } from './auth/user-config.js';
import { isEdgeSecretHash } from './broker/edge-secret.js';
import { mqttLimitsSchema, mqttTlsSchema } from './broker/embedded-config.js';
import { externalMqttSchema } from './broker/external-config.js';
import { journalSectionSchema } from './broker/external-journal-config.js';
import { edgeHealthSchema } from './edge-health-config.js';
import {
  allowedHostsSchema,
  allowedOriginsSchema,
  httpTlsSchema,
  metricsTokenHashSchema,
} from './http/http-security-config.js';
import { notifySectionSchema } from './notify/notify-config.js';
import { rulesSectionSchema } from './rules-runtime/rules-config.js';
import { sinkSchema } from './sink/influx-config.js';
import { storeSectionSchema } from './store/store-config.js';

const port = z.number().int().min(0).max(65535);
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

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
          /** Connection caps, CONNECT deadline and pre-auth packet size (broker/embedded-config.ts). */
          limits: mqttLimitsSchema,
          /** MQTT over TLS, optionally with client certificates (broker/embedded-config.ts). */
          tls: mqttTlsSchema,
        }),
        externalMqttSchema,
      ]),
    )
    .prefault({}),
  /** Where readings and events are stored: `kind: sqlite` (default) or `kind: influx` (sink/influx-config.ts). */
  sink: sinkSchema,
  /** Shared state: `kind: sqlite` (default, in cloud.db) or `kind: postgres` for several hosts (store/store-config.ts). */
  store: storeSectionSchema,
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
      /** Readings dated later than receipt plus this are stored as suspect and never become latest, ms. */
      maxClockSkewMs: z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400_000)
        .default(300_000),
      /** Readings dated before this (ISO 8601 date or time) are stored as suspect and never become latest. */
      minTimestamp: z
        .string()
        .refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(Date.parse(v)), {
          message: 'must be an ISO 8601 date or time, e.g. 2020-01-01',
        })
        .default('2020-01-01'),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port of the HTTP API; 0 = ephemeral. */
      port: port.default(8080),
      /** Folder of the dashboard build, relative to the config file; default: this checkout's dashboards/dist. */
      dashboardDir: z.string().min(1).optional(),
      /** HTTPS: PEM certificate (chain) and key files, relative to the config file (http/http-security-config.ts). */
      tls: httpTlsSchema,
      /** Host names (besides localhost, IP literals and http.host) the API answers to: DNS-rebinding guard. */
      allowedHosts: allowedHostsSchema,
      /** Origins (besides the request's own) whose browser pages may POST: CSRF guard. */
      allowedOrigins: allowedOriginsSchema,
      /** Lab mode (no users) on a non-loopback http.host is refused unless this is true. */
      allowInsecureLab: z.boolean().default(false),
      /** SHA-256 (hex) of the bearer token Prometheus sends for /metrics; the token itself never sits here. */
      metricsTokenSha256: metricsTokenHashSchema,
    })
    .prefault({}),
  /** Per-edge MQTT credentials: username = edge id, password checked against the scrypt hash. */
  edges: z
    .array(
      z.strictObject({
        id: z.string().regex(ID_PATTERN, 'must be a valid edge id ([A-Za-z0-9][A-Za-z0-9._:-]{0,127})'),
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
      /** Reloaded on SIGHUP (bin/village-cloud.ts). */
      level: z.enum(LOG_LEVELS).default('info'),
      /** `json` (one object per line) or `pretty` (for a terminal); @village/service-kit log.ts. */
      format: z.enum(LOG_FORMATS).default('json'),
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
  /** Alert thresholds on the edges' state reports (edge-health-config.ts). */
  edgeHealth: edgeHealthSchema,
});

/** The top-level sections of cloud.yaml, from the schema (docs tests tell a cloud example by them). */
export const CLOUD_CONFIG_KEYS: readonly string[] = Object.keys(configSchema.shape);

export type CloudConfig = z.infer<typeof configSchema> & {
  /** The config file's name as errors give it (`cu2.yaml: users.0.place: ...`). */
  configFile: string;
};

/** Validates a config object; relative paths resolve against `baseDir`. Throws ConfigError. */
export function parseConfig(raw: unknown, baseDir: string, fileName = 'cloud.yaml'): CloudConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(describeIssues(fileName, result.error.issues));
  const config = result.data;
  return {
    ...config,
    configFile: fileName,
    dataDir: resolve(baseDir, config.dataDir),
    registry: config.registry === undefined ? undefined : resolve(baseDir, config.registry),
    mqtt: resolveTlsPaths(config.mqtt, baseDir),
    http: {
      ...config.http,
      dashboardDir:
        config.http.dashboardDir === undefined ? undefined : resolve(baseDir, config.http.dashboardDir),
      tls:
        config.http.tls === undefined
          ? undefined
          : { cert: resolve(baseDir, config.http.tls.cert), key: resolve(baseDir, config.http.tls.key) },
    },
  };
}

/** mqtt.tls file paths are relative to the config file. */
function resolveTlsPaths(mqtt: CloudConfig['mqtt'], baseDir: string): CloudConfig['mqtt'] {
  if (mqtt.mode !== 'embedded' || mqtt.tls === undefined) return mqtt;
  const { tls } = mqtt;
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(baseDir, p));
  return {
    ...mqtt,
    tls: { ...tls, cert: resolve(baseDir, tls.cert), key: resolve(baseDir, tls.key), ca: at(tls.ca) },
  };
}

/** Reads and validates a YAML config file. Throws ConfigError naming the file and key. */
export function loadConfig(path: string): CloudConfig {
  const fileName = basename(path);
  return parseConfig(readYamlFile(path, fileName), dirname(resolve(path)), fileName);
}
