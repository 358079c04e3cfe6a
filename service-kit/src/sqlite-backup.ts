import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Backup and restore of one SQLite database (the edge's outbox.db, the cloud's cloud.db) while its
 * owner runs: SQLite's online backup API copies every page in one step, inside one read
 * transaction, so the copy is a consistent snapshot however fast the owner writes (WAL lets it run
 * beside the writer). A manifest beside the copy names what it is, its schema version (PRAGMA
 * user_version), when and by which version it was taken, and the row count of each table, for the
 * restore to check.
 */
export const MANIFEST_FILE = 'manifest.json';

export interface BackupManifest {
  kind: string;
  file: string;
  schemaVersion: number;
  createdAt: string;
  version: string;
  counts: Record<string, number>;
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: 'no_database' | 'target_not_empty' | 'no_manifest' | 'wrong_kind' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

/** Row count of every table of an open database. */
export function tableCounts(db: Database.Database): Record<string, number> {
  const tables = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  return Object.fromEntries(
    tables.map((t) => [
      t.name,
      (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n,
    ]),
  );
}

export async function backupDatabase(o: {
  source: string;
  toDir: string;
  kind: string;
  version: string;
  now?: () => Date;
}): Promise<BackupManifest> {
  if (!existsSync(o.source)) throw new BackupError('no_database', `${o.source}: no database to back up`);
  if (!isEmptyDir(o.toDir))
    throw new BackupError('target_not_empty', `${o.toDir}: not empty; back up into a new folder`);
  mkdirSync(o.toDir, { recursive: true });
  const file = o.source.split(/[\\/]/).pop()!;
  const target = join(o.toDir, file);
  const src = new Database(o.source, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 5000');
    // All pages in one step: one read transaction, so a write meanwhile cannot restart or tear it.
    await src.backup(target, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  const copy = new Database(target, { fileMustExist: true });
  try {
    // The copy is a self-contained rollback-journal file: no -wal beside it to lose.
    copy.pragma('journal_mode = DELETE');
    const manifest: BackupManifest = {
      kind: o.kind,
      file,
      schemaVersion: copy.pragma('user_version', { simple: true }) as number,
      createdAt: (o.now?.() ?? new Date()).toISOString(),
      version: o.version,
      counts: tableCounts(copy),
    };
    writeFileSync(join(o.toDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    copy.close();
  }
}

/** Puts a backup back into `dataDir` (refused when it holds anything, unless `force`); checks kind, integrity and counts. */
export function restoreDatabase(o: {
  fromDir: string;
  dataDir: string;
  kind: string;
  force: boolean;
}): BackupManifest {
  const manifestPath = join(o.fromDir, MANIFEST_FILE);
  if (!existsSync(manifestPath))
    throw new BackupError('no_manifest', `${manifestPath}: missing; not a backup folder`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BackupManifest;
  if (manifest.kind !== o.kind)
    throw new BackupError('wrong_kind', `${o.fromDir}: a ${manifest.kind} backup, not ${o.kind}`);
  const source = join(o.fromDir, manifest.file);
  if (!isEmptyDir(o.dataDir) && !o.force)
    throw new BackupError(
      'target_not_empty',
      `${o.dataDir}: not empty; restore into an empty folder or pass --force`,
    );
  const check = new Database(source, { readonly: true, fileMustExist: true });
  try {
    const integrity = check.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok')
      throw new BackupError('corrupt', `${source}: integrity check failed: ${integrity}`);
    const counts = tableCounts(check);
    if (JSON.stringify(counts) !== JSON.stringify(manifest.counts))
      throw new BackupError('corrupt', `${source}: row counts differ from ${MANIFEST_FILE}`);
  } finally {
    check.close();
  }
  mkdirSync(o.dataDir, { recursive: true });
  const target = join(o.dataDir, manifest.file);
  // A stale -wal beside the restored file would be replayed into it: remove the old set first.
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
  copyFileSync(source, `${target}.restoring`);
  renameSync(`${target}.restoring`, target);
  return manifest;
}
