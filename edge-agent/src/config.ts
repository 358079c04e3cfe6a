import { dirname, resolve } from 'node:path';
import type { DriverKind } from '@village/device-drivers';
import { isValidId } from '@village/protocol';
import {
  ConfigError,
  LOG_FORMATS,
  describeIssues,
  expandEnvTree,
  formatKey,
  readYamlFile,
} from '@village/service-kit';
import { z } from 'zod';
import { DRIVER_KIND_NAMES } from './driver-kinds.js';
import { localRulesSchema } from './local-rules/local-rules-config.js';

/** A config file that cannot be used (@village/service-kit). The CLI prints `message` and exits 2. */
export { ConfigError };

const id = z.string().refine(isValidId, 'must be an id: letters, digits and . _ : - (at most 128)');

/** One broker, mqtt://host:port or mqtts://host:port: the one rule for `cloud.url` and each of `cloud.urls`. */
const brokerUrl = z
  .string()
  .regex(/^mqtts?:\/\/[^/]+$/, 'must look like mqtt://host:port')
  .refine(
    (u) =>
      /^mqtts?:\/\/(\[[^\]]+\]|[^:/[\]]+)(:(\d{1,5}))?$/.test(u) &&
      Number(/:(\d+)$/.exec(u)?.[1] ?? 1) <= 65_535,
    { error: (issue) => `${String(issue.input)}: the port must be a number 1-65535 (mqtt://host:port)` },
  );

const edgeSchema = z.strictObject({
  edgeId: id,
  /** Folder for the outbox and driver state; relative to the config file. */
  dataDir: z.string().default('./data'),
  cloud: z
    .strictObject({
      /** The cloud broker, mqtt://host:port or mqtts://host:port; or `urls` instead. */
      url: brokerUrl.optional(),
      /** Brokers to fail over between, in order (uplink.ts): the edge moves to the next when one is lost. */
      urls: z.array(brokerUrl).min(1).optional(),
      /** The edge's MQTT password; use ${ENV_VAR} so no secret sits in the file. */
      password: z.string().min(1),
      /** Unacked batches in flight at once. */
      window: z.number().int().min(1).max(256).default(8),
      /** A batch not acked within this many ms (or the ack round trip seen lately, when longer) is resent with the same seq and bytes. */
      ackTimeoutMs: z.number().int().min(100).default(15_000),
      /** Each resend of a batch doubles its timeout (with jitter), up to this many ms; a reconnect starts over. */
      ackTimeoutMaxMs: z.number().int().min(100).default(120_000),
      /** Reconnect backoff, ms: doubles from min to max, with jitter. */
      reconnectMinMs: z.number().int().min(50).default(500),
      reconnectMaxMs: z.number().int().min(100).default(30_000),
      /** MQTT keepalive, seconds. */
      keepaliveS: z.number().int().min(1).default(30),
      /** How often the edge reports its state (outbox, drivers, disk) on up/status, ms; also on change (state-report.ts). */
      stateReportMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
      /** The clock offset from the cloud (measured from its acks) above which a `clock_offset` event is raised, seconds. */
      clockOffsetThresholdS: z.number().positive().default(60),
      /**
       * For mqtts://: the CA that signs the cloud's certificate (trusted instead of the system's), and
       * optionally this edge's client certificate and key (PEM files, relative to this file).
       */
      tls: z
        .strictObject({
          ca: z.string().min(1),
          cert: z.string().min(1).optional(),
          key: z.string().min(1).optional(),
        })
        .refine((t) => (t.cert === undefined) === (t.key === undefined), 'cert and key go together')
        .optional(),
    })
    .superRefine((c, ctx) => {
      if (c.url !== undefined && c.urls !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['urls'],
          message: 'give cloud.url (one broker) or cloud.urls (a list), not both',
        });
      } else if (c.url === undefined && c.urls === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'needs cloud.url (one broker) or cloud.urls (brokers to fail over between)',
        });
      }
      c.urls?.forEach((u, i) => {
        const first = c.urls!.indexOf(u);
        if (first < i)
          ctx.addIssue({ code: 'custom', path: ['urls', i], message: `${u}: also cloud.urls[${first}]` });
      });
    })
    // The rest of the edge sees one list, whichever key the file used.
    .transform(({ url, urls, ...rest }) => ({ ...rest, urls: urls ?? [url!] })),
  outbox: z
    .strictObject({
      /** Disk budget for buffered data, MiB. Past it the oldest routine telemetry is dropped (events never). */
      quotaMiB: z.number().min(1).default(512),
      /** A batch is cut when this many readings wait ... */
      batchMaxReadings: z.number().int().min(1).max(20_000).default(5_000),
      /** ... or when the oldest waiting reading is this old, ms. */
      batchMaxAgeMs: z.number().int().min(1).default(1_000),
      /** Readings are group-committed to SQLite every this many ms. */
      groupCommitMs: z.number().int().min(0).max(1_000).default(5),
      /** SQLite synchronous mode: `full` survives power loss (SD card, village power cuts); `normal` only a process crash. */
      synchronous: z.enum(['full', 'normal']).default('full'),
      /** A batch whose oldest reading waited longer than this (ms) is marked historical (backlog). */
      historicalAfterMs: z.number().int().min(0).default(30_000),
      /** Disk space held for events when the disk fills (telemetry is then refused), KiB; 0 = none. */
      eventReserveKiB: z.number().int().min(0).default(1_024),
    })
    .prefault({}),
  health: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      /** 0 picks a free port (logged in the "edge ready" line). */
      port: z.number().int().min(0).max(65_535).default(9_100),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      /** `json` (one object per line, for journald) or `pretty` (for a terminal); @village/service-kit log.ts. */
      format: z.enum(LOG_FORMATS).default('json'),
    })
    .prefault({}),
  drivers: z.array(z.looseObject({ kind: z.string(), id })).default([]),
  /** Rules the edge acts on by itself (siren, webhook), cloud or no cloud: local-rules/local-rules-config.ts. */
  localRules: localRulesSchema,
});

export type EdgeConfig = z.infer<typeof edgeSchema> & {
  /** Absolute path of the folder the config file sits in. */
  configDir: string;
  drivers: ResolvedDriverConfig[];
};

export interface ResolvedDriverConfig {
  kind: string;
  id: string;
  config: unknown;
}

/**
 * Reads, expands `${ENV}` references and validates an edge config. Every problem is reported
 * with the file and the key, e.g. `edge.yaml: cloud.window: expected number, received string`.
 */
export function loadEdgeConfig(
  path: string,
  kinds: ReadonlyMap<string, DriverKind>,
  env: NodeJS.ProcessEnv = process.env,
): EdgeConfig {
  // edge.yaml's messages name keys as `drivers[0].port` and the file as given with --config.
  const raw = expandEnvTree(readYamlFile(path), path, env, 'bracket');
  const parsed = edgeSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(path, parsed.error.issues, { style: 'bracket' }));
  const cfg = parsed.data;
  if (cfg.cloud.reconnectMaxMs < cfg.cloud.reconnectMinMs) {
    throw new ConfigError(`${path}: cloud.reconnectMaxMs: must be at least cloud.reconnectMinMs`);
  }
  if (cfg.cloud.ackTimeoutMaxMs < cfg.cloud.ackTimeoutMs) {
    throw new ConfigError(`${path}: cloud.ackTimeoutMaxMs: must be at least cloud.ackTimeoutMs`);
  }
  const seen = new Set<string>();
  const drivers = cfg.drivers.map((d, i) => {
    const kind = kinds.get(d.kind);
    if (!kind) {
      throw new ConfigError(
        `${path}: drivers[${i}].kind: unknown driver kind "${d.kind}" (known: ${DRIVER_KIND_NAMES.join(', ')})`,
      );
    }
    if (seen.has(d.id)) throw new ConfigError(`${path}: drivers[${i}].id: duplicate driver id "${d.id}"`);
    seen.add(d.id);
    const { kind: _k, id: _i, ...rest } = d;
    const r = kind.configSchema.safeParse(rest);
    if (!r.success) {
      throw new ConfigError(
        describeIssues(path, r.error.issues, { style: 'bracket', prefix: `drivers[${i}]` }),
      );
    }
    // Files the entry names (Modbus profiles): checked here, so `--check` and a start agree.
    const issues = kind.check?.(r.data, { configDir: dirname(resolve(path)) }) ?? [];
    if (issues.length > 0) {
      throw new ConfigError(
        issues
          .map((x) => `${path}: ${formatKey(x.path, 'bracket', `drivers[${i}]`)}: ${x.message}`)
          .join('\n'),
      );
    }
    return { kind: d.kind, id: d.id, config: r.data };
  });
  const configDir = dirname(resolve(path));
  return { ...cfg, dataDir: resolve(configDir, cfg.dataDir), configDir, drivers };
}
