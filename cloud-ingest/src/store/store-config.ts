import { ConfigError } from '@village/service-kit';
import { z } from 'zod';
import { secretString } from '../sink/influx-config.js';

/**
 * `store:` of cloud.yaml — where the state several ingest hosts must share lives (docs/scaling.md
 * "Several hosts"). `kind: sqlite` (the default) keeps everything in `dataDir/cloud.db`, as
 * before. `kind: postgres` puts the seq and epoch dedupe and the committed-batch journal in
 * PostgreSQL (the SharedStore, shared-store/shared-store.ts), so several hosts, each with its own
 * data folder and no shared files, split one broker's batches.
 */
export const storeSectionSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite') }),
    z.strictObject({
      kind: z.literal('postgres'),
      /** postgres://user:${PGPASSWORD}@host:5432/village (`${ENV}` is expanded; keep the password out of the file). */
      url: secretString.pipe(
        z.string().regex(/^postgres(ql)?:\/\/[^\s]+$/, 'must be a postgres:// or postgresql:// URL'),
      ),
      /** How often, ms, each host asks whether another host changed the registry (store/registry-replica.ts). */
      registryPollMs: z.number().int().min(100).max(60_000).default(1000),
    }),
  ])
  .prefault({ kind: 'sqlite' });

export type StoreSection = z.infer<typeof storeSectionSchema>;

/**
 * `kind: postgres` only where nothing else is shared on disk: the readings in InfluxDB
 * (`sink.kind: influx`; the SQLite sink lives in one host's file) and an external broker
 * (`mqtt.mode: external`; the embedded broker is one process). Rules run across the hosts as
 * partitions leased through the SharedStore (rules-runtime/partitioned-rules.ts).
 * Throws ConfigError naming the key.
 */
export function checkStoreCombination(
  config: {
    store: StoreSection;
    mqtt: { mode: string };
    sink: { kind: string };
  },
  file: string,
): void {
  if (config.store.kind !== 'postgres') return;
  if (config.mqtt.mode !== 'external') {
    throw new ConfigError(
      `${file}: store.kind: postgres needs mqtt.mode: external (several hosts share one external broker), not ${config.mqtt.mode}`,
    );
  }
  if (config.sink.kind !== 'influx') {
    throw new ConfigError(
      `${file}: store.kind: postgres needs sink.kind: influx (the readings must not live in one host's SQLite file), not ${config.sink.kind}`,
    );
  }
}
