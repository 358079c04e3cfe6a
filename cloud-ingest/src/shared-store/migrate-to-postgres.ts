import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrateCloudDb } from '../store/cloud-migrations.js';
import { CLOUD_DB_FILE, type Db, openDatabase } from '../store/open-database.js';
import { exportRegistry } from '../store/registry-import.js';
import { createRegistrySchema } from '../store/registry-store.js';
import { writeRegistryOwners } from './postgres-device-owners.js';
import { openPostgresSharedStore } from './postgres-shared-store.js';

export type StoreMigrateErrorCode = 'no_cloud_db' | 'store_not_empty';

/** Why `village-cloud store migrate` did nothing (exit 2): the source or the target is not fit. */
export class StoreMigrateError extends Error {
  constructor(
    readonly code: StoreMigrateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreMigrateError';
  }
}

/**
 * A cloud.db table copied into its PostgreSQL twin, which has the same columns (each concern's
 * postgres-*.ts says so): `bool` columns are SQLite's 0/1.
 */
interface TableCopy {
  from: string;
  to: string;
  columns: readonly string[];
  bool?: readonly string[];
}

const TABLES: readonly TableCopy[] = [
  // The dedupe: an edge's resend of a batch the one host committed stays a duplicate.
  { from: 'edge_seq_state', to: 'edge_seq_state', columns: ['edge', 'epoch', 'high_water', 'opened'] },
  { from: 'edge_seq_above', to: 'edge_seq_above', columns: ['edge', 'epoch', 'seq'] },
  {
    from: 'sessions',
    to: 'shared_sessions',
    columns: ['token_hash', 'username', 'created_at', 'expires_at'],
  },
  {
    from: 'api_tokens',
    to: 'shared_api_tokens',
    columns: [
      'id',
      'token_hash',
      'name',
      'role',
      'place',
      'access',
      'created_by',
      'created_at',
      'expires_at',
      'revoked_at',
    ],
  },
  {
    from: 'dead_letters',
    to: 'shared_dead_letters',
    columns: [
      'id',
      'kind',
      'edge',
      'seq',
      'reason',
      'detail',
      'bytes',
      'digest',
      'received_at',
      'last_at',
      'count',
      'state',
      'redriven_at',
      'size',
      'bytes_kept',
    ],
    bool: ['bytes_kept'],
  },
  {
    from: 'influx_series',
    to: 'influx_series',
    columns: ['device', 'metric', 'unit', 'value_type', 'station'],
  },
  {
    from: 'influx_series_measurements',
    to: 'influx_series_measurements',
    columns: ['device', 'metric', 'measurement'],
  },
];

/** Tables that must be empty in PostgreSQL: a migration goes into a store no host has used. */
const TARGETS = [...TABLES.map((t) => t.to), 'shared_device_owners', 'shared_journal', 'shared_commands'];

/** Rows per INSERT (PostgreSQL takes at most 65,535 parameters in one statement). */
const CHUNK = 500;

const hasTable = (db: Db, name: string) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/**
 * `village-cloud store migrate` (docs/scaling.md "From one host to several"): what a single-host
 * cloud's cloud.db holds that several hosts share, copied into an empty PostgreSQL store in ONE
 * transaction (all or nothing): the registry as the shared document's version 1 (with the
 * fingerprint of the registry.yaml imported last, so a host started with that same file takes the
 * document, the admins' changes included) and the owners it names, the devices' learned owners,
 * the seq and epoch dedupe, officers' sessions and API tokens, dead letters, and the InfluxDB
 * sink's series catalog. Not copied: the rules' state (the partitioned rules start afresh), the
 * journal, commands (let pending ones complete first), edge health, and the edges' broker
 * secrets (an external broker holds them). The one-host cloud must be stopped.
 */
export async function migrateToPostgres(opts: { fromDataDir: string; url: string }): Promise<
  Record<string, number>
> {
  const file = join(opts.fromDataDir, CLOUD_DB_FILE);
  if (!existsSync(file))
    throw new StoreMigrateError('no_cloud_db', `${file}: no cloud.db there (--from names a data folder)`);
  const db = openDatabase(opts.fromDataDir);
  try {
    migrateCloudDb(db, file);
    createRegistrySchema(db);
    // Opening the store creates its schema (as a host's first start does).
    await (await openPostgresSharedStore({ url: opts.url })).close();
    const pool = new pg.Pool({ connectionString: opts.url, max: 1 });
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // The registry row's lock: a host starting meanwhile waits, then finds version 1.
      const [reg] = (
        await c.query<{ version: string }>('SELECT version FROM shared_registry WHERE id = 1 FOR UPDATE')
      ).rows;
      if (Number(reg?.version ?? 0) > 0)
        throw new StoreMigrateError(
          'store_not_empty',
          `shared_registry: version ${reg!.version} already written (a host ran on this store): nothing copied`,
        );
      for (const t of TARGETS) {
        const { rows } = await c.query(`SELECT 1 FROM ${t} LIMIT 1`);
        if (rows.length > 0)
          throw new StoreMigrateError('store_not_empty', `${t}: has rows already: nothing copied`);
      }
      const counts: Record<string, number> = {};
      for (const t of TABLES) counts[t.to] = hasTable(db, t.from) ? await copyTable(db, c, t) : 0;
      // The epochs an edge opens on the store from now on come after the ones copied.
      await c.query(
        "SELECT setval('edge_seq_opened', max(opened)) FROM edge_seq_state HAVING max(opened) IS NOT NULL",
      );
      await c.query(
        `SELECT setval(pg_get_serial_sequence('shared_dead_letters', 'id'), max(id))
           FROM shared_dead_letters HAVING max(id) IS NOT NULL`,
      );

      const doc = exportRegistry(db);
      const sha = db
        .prepare<[], { value: string }>("SELECT value FROM registry_meta WHERE key = 'start_import_sha256'")
        .get()?.value;
      await c.query(
        'UPDATE shared_registry SET version = 1, doc = $1::jsonb, file_sha256 = $2, updated_at = now() WHERE id = 1',
        [JSON.stringify(doc), sha ?? null],
      );
      await writeRegistryOwners(c, doc.devices);
      // Devices learned from births and batches keep the edge that claimed them.
      const learned = db
        .prepare<[], { id: string; edge: string; source: string }>(
          "SELECT id, edge, source FROM devices WHERE edge IS NOT NULL AND source <> 'registry'",
        )
        .all();
      for (let i = 0; i < learned.length; i += CHUNK) {
        const part = learned.slice(i, i + CHUNK);
        await c.query(
          `INSERT INTO shared_device_owners (device, edge, source)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (device) DO NOTHING`,
          [part.map((d) => d.id), part.map((d) => d.edge), part.map((d) => d.source)],
        );
      }
      counts.shared_registry_devices = doc.devices.length;
      counts.shared_device_owners_learned = learned.length;
      await c.query('COMMIT');
      return counts;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
      await pool.end();
    }
  } finally {
    db.close();
  }
}

async function copyTable(db: Db, c: pg.PoolClient, t: TableCopy): Promise<number> {
  const rows = db
    .prepare(`SELECT ${t.columns.join(', ')} FROM ${t.from}`)
    .raw()
    .all() as unknown[][];
  const bools = new Set((t.bool ?? []).map((b) => t.columns.indexOf(b)));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    const values: unknown[] = [];
    const tuples = part.map((row) => {
      const slots = row.map((v, j) => {
        values.push(bools.has(j) ? v === 1 : typeof v === 'bigint' ? v.toString() : v);
        return `$${values.length}`;
      });
      return `(${slots.join(', ')})`;
    });
    await c.query(`INSERT INTO ${t.to} (${t.columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
  }
  return rows.length;
}
