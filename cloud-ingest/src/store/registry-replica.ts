import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type RegistryFile, parseRegistry } from '../registry-file.js';
import type { Db } from './open-database.js';
import { storeUsers } from './registry-entities.js';
import { exportRegistry, fingerprint, importRegistry } from './registry-import.js';
import type { SharedRegistry, SharedRegistryStore } from './shared-registry-store.js';

/**
 * This host's copy of the shared registry (`store.kind: postgres`, docs/scaling.md "Several
 * hosts"). The copy stays in cloud.db, where every reader already looks (places, scopes, users,
 * rules); what keeps it one registry across hosts:
 * - an admin change (`change`) runs under the shared document's lock: a newer version another
 *   host wrote is imported first, then the change is made in cloud.db as on one host, and the
 *   export is written back as the next version, so two hosts' changes never overwrite each other;
 * - every `pollMs` the host reads the version (one indexed read) and imports a newer document;
 * - at start the shared document wins over registry.yaml, unless this host's file changed since
 *   its last import (registry-store.ts fileImportedAtStart) to one no host imported yet: a host
 *   restarting with an older copy of the file, or a new host with the same file, does not roll
 *   back what admins changed.
 */
export interface RegistryReplica {
  /**
   * Runs an admin change of cloud.db's registry (`run`, synchronous, throws to refuse) as the
   * next version of the shared document. A refusal changes nothing anywhere; a failure of the
   * shared store after `run` leaves cloud.db ahead, to be put back by the next poll.
   */
  change<T>(run: () => T): Promise<T>;
  /** One poll now (a timer runs one every pollMs): true when it imported a newer version. */
  poll(): Promise<boolean>;
  /** The version cloud.db holds. */
  readonly version: number;
  close(): void;
}

export interface RegistryReplicaDeps {
  db: Db;
  store: SharedRegistryStore;
  /** registry.yaml as this host read it at start. */
  file: RegistryFile;
  /** Whether this start imported registry.yaml into cloud.db (it changed since the last import). */
  fileImportedAtStart: boolean;
  /** cloud.yaml's edges: they keep a row (unplaced) whatever the registry says. */
  credentialEdges: readonly string[];
  /**
   * After a newer version was imported by a poll: the caches read cloud.db again. `changedUsers`
   * are the store users whose password hash changed or who are gone: their sessions end (a login
   * with the old password on this host before the import must not outlive it).
   */
  onImported(changedUsers: string[]): Promise<void>;
  pollMs: number;
  log: Logger;
  metricsRegistry: Registry;
  now(): number;
}

export async function openRegistryReplica(deps: RegistryReplicaDeps): Promise<RegistryReplica> {
  const { db, store, log } = deps;
  const imports = new Counter({
    name: 'cloud_shared_registry_imports_total',
    help: 'Versions of the shared registry imported into this host’s cloud.db, by result (ok, failed)',
    labelNames: ['result'],
    registers: [deps.metricsRegistry],
  });
  const versionGauge = new Gauge({
    name: 'cloud_shared_registry_version',
    help: 'The version of the shared registry this host’s cloud.db holds',
    registers: [deps.metricsRegistry],
  });
  /** The version cloud.db holds; `stale`: cloud.db may differ from it (a write that did not commit). */
  let local = 0;
  let stale = false;
  const setLocal = (v: number) => {
    local = v;
    versionGauge.set(v);
  };

  /** Imports a shared document into cloud.db; returns the users whose hash changed or who are gone. */
  const importDoc = (shared: SharedRegistry): string[] => {
    const doc = parseRegistry(shared.doc, `shared registry version ${shared.version}`);
    const before = storeUsers(db);
    db.transaction(() => {
      // Devices an admin removed on another host: the import upserts the document's, keeps the rest.
      const named = new Set(doc.devices.map((d) => d.id));
      const drop = db.prepare<[string]>("DELETE FROM devices WHERE id = ? AND source = 'registry'");
      for (const d of db
        .prepare<[], { id: string }>("SELECT id FROM devices WHERE source = 'registry'")
        .all())
        if (!named.has(d.id)) drop.run(d.id);
      importRegistry(db, doc, {
        actor: `shared registry version ${shared.version}`,
        now: deps.now(),
        credentialEdges: deps.credentialEdges,
      });
    })();
    const after = new Map(storeUsers(db).map((u) => [u.username, u.passwordHash]));
    return before.filter((u) => after.get(u.username) !== u.passwordHash).map((u) => u.username);
  };

  // At start, under the lock: the first host writes its import; later ones import the document.
  const print = fingerprint(deps.file);
  let fileWon = false;
  const started = await store.update((latest) => {
    const fileWins = latest === undefined || (deps.fileImportedAtStart && latest.fileSha256 !== print);
    if (!fileWins) {
      importDoc(latest);
      setLocal(latest.version);
      return undefined;
    }
    // A file without `users:` leaves the officers as they are: the shared document's.
    if (latest !== undefined && deps.file.users === undefined)
      importRegistry(
        db,
        { ...exportRegistry(db), users: latest.doc.users ?? [] },
        { actor: 'registry.yaml at start', now: deps.now(), credentialEdges: deps.credentialEdges },
      );
    fileWon = true;
    setLocal((latest?.version ?? 0) + 1);
    return { doc: exportRegistry(db), fileSha256: print };
  });
  log.info(
    { version: started?.version, from: fileWon ? 'registry.yaml' : 'shared' },
    'shared registry ready',
  );

  let polling = false;
  async function poll(): Promise<boolean> {
    if (polling) return false;
    polling = true;
    try {
      if ((await store.version()) <= local && !stale) return false;
      const shared = await store.read();
      // Checked again after the await: a change made meanwhile on this host may be newer.
      if (shared === undefined || (shared.version <= local && !stale)) return false;
      const changedUsers = importDoc(shared);
      setLocal(shared.version);
      stale = false;
      imports.inc({ result: 'ok' });
      log.info({ version: shared.version, changedUsers }, 'shared registry: newer version imported');
      await deps.onImported(changedUsers);
      return true;
    } catch (err) {
      imports.inc({ result: 'failed' });
      log.warn({ err: (err as Error).message }, 'shared registry: poll failed (tried again at the next)');
      return false;
    } finally {
      polling = false;
    }
  }
  const timer = setInterval(() => void poll(), deps.pollMs);
  timer.unref();

  return {
    get version() {
      return local;
    },
    poll,
    async change<T>(run: () => T): Promise<T> {
      let result!: T;
      let applied = false;
      /** Officers another host's version (imported first) changed: their sessions end, as at a poll. */
      let changedUsers: string[] = [];
      try {
        await store.update((latest) => {
          const next = (latest?.version ?? 0) + 1;
          // One cloud.db transaction: the newer document, the change, its export (a refusal undoes all three).
          const doc = db.transaction(() => {
            changedUsers = latest !== undefined && (latest.version > local || stale) ? importDoc(latest) : [];
            result = run();
            return exportRegistry(db);
          })();
          applied = true;
          // Set before the commit, so a poll that read an older version meanwhile does not import it.
          setLocal(next);
          return { doc, fileSha256: latest?.fileSha256 ?? null };
        });
      } catch (err) {
        if (applied) {
          stale = true; // cloud.db has a change the shared document may not: the next poll puts it back
          log.warn(
            { err: (err as Error).message },
            'shared registry: change not written, undone at the next poll',
          );
        }
        throw err;
      }
      // The change committed: a failure here is logged, not the admin's error.
      if (changedUsers.length > 0)
        await deps
          .onImported(changedUsers)
          .catch((err: Error) =>
            log.warn({ err: err.message }, 'shared registry: sessions of changed officers not ended'),
          );
      return result;
    },
    close: () => clearInterval(timer),
  };
}
