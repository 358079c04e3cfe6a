import { type Postgres, freePort, startPostgres, waitFor } from '@village/test-kit';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import { SharedStoreError } from '../src/shared-store/shared-store-error.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { runAirQualitySuite } from './shared-air-quality-suite.js';
import { runDeadLettersSuite } from './shared-dead-letters-suite.js';
import { runDeliveriesSuite } from './shared-deliveries-suite.js';
import { runDeviceOwnersSuite } from './shared-device-owners-suite.js';
import { runHostBeatsSuite } from './shared-host-beats-suite.js';
import { runRegistrySuite } from './shared-registry-suite.js';
import { runRuleCommandsSuite } from './shared-rule-commands-suite.js';
import { runRuleViewsSuite } from './shared-rule-views-suite.js';
import { runSeriesCatalogSuite } from './shared-series-catalog-suite.js';
import { runSessionsSuite } from './shared-sessions-suite.js';
import { runSharedStoreSuite } from './shared-store-suite.js';

// One real PostgreSQL 15 for the file's suites, a fresh database for each (a server costs 3 s to
// start and stop, a database milliseconds); each store has its own Pool, as each ingest host has.
let server: Promise<Postgres> | undefined;
let databases = 0;
afterAll(async () => {
  await (await server)?.stop();
});
const freshPostgres = async () => {
  server ??= startPostgres();
  const postgres = await server;
  const url = new URL(postgres.url);
  url.pathname = `/suite_${++databases}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${url.pathname.slice(1)}`);
  } finally {
    await admin.end();
  }
  return {
    open: () => openPostgresSharedStore({ url: url.toString(), poolSize: 4 }),
    dispose: async () => {},
  };
};
runSharedStoreSuite('postgres', freshPostgres);
runDeviceOwnersSuite('postgres', freshPostgres);
runSessionsSuite('postgres', freshPostgres);
runSeriesCatalogSuite('postgres', freshPostgres);
runRegistrySuite('postgres', freshPostgres);
runDeadLettersSuite('postgres', freshPostgres);
runHostBeatsSuite('postgres', freshPostgres);
runRuleViewsSuite('postgres', freshPostgres);
runAirQualitySuite('postgres', freshPostgres);
runRuleCommandsSuite('postgres', freshPostgres);
runDeliveriesSuite('postgres', freshPostgres);

describe('PostgreSQL shared store: the server and its url', () => {
  const PASSWORD = 's3cret-pw';
  let pg: Postgres;
  /** The url with a password (trust auth accepts any), to check it never shows. */
  let url: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = pg.url.replace('postgres://village@', `postgres://village:${PASSWORD}@`);
  }, 60_000);
  afterAll(() => pg?.stop());

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as SharedStoreError,
    );

  it('a bad url, an unreachable server, a refused database: typed errors naming the url without its password', async () => {
    const notUrl = await failure(openPostgresSharedStore({ url: 'db.internal:5432' }));
    expect(notUrl).toBeInstanceOf(SharedStoreError);
    expect(notUrl.code).toBe('bad_url');
    const scheme = await failure(openPostgresSharedStore({ url: `mysql://village:${PASSWORD}@db/village` }));
    expect(scheme.code).toBe('bad_url');
    expect(scheme.message).toContain('mysql:');
    const noDb = await failure(
      openPostgresSharedStore({ url: `postgres://village:${PASSWORD}@db.internal` }),
    );
    expect(noDb.code).toBe('bad_url');
    const port = await freePort(); // nothing listens there
    const down = await failure(
      openPostgresSharedStore({ url: `postgres://village:${PASSWORD}@127.0.0.1:${port}/village` }),
    );
    expect(down).toBeInstanceOf(SharedStoreError);
    expect(down.code).toBe('unreachable');
    expect(down.message).toContain(`postgres://village:***@127.0.0.1:${port}/village`);
    const refused = await failure(openPostgresSharedStore({ url: url.replace(/\/village$/, '/nosuch') }));
    expect(refused.code).toBe('refused');
    expect(refused.message).toMatch(/database "nosuch" does not exist/);
    for (const e of [notUrl, scheme, noDb, down, refused]) expect(e.message).not.toContain(PASSWORD);
  });

  it('a server that stops answering: calls fail unreachable within the bound, and work again once it answers', async () => {
    const store = await openPostgresSharedStore({ url, queryTimeoutMs: 1000 });
    try {
      expect(await store.isCommitted('hang', 'e1', 1)).toBe(false); // a pooled connection
      await pg.pause();
      const t0 = Date.now();
      const err = await failure(store.isCommitted('hang', 'e1', 1));
      const took = Date.now() - t0;
      await pg.resume();
      expect(err).toBeInstanceOf(SharedStoreError);
      expect(err.code).toBe('unreachable');
      expect(err.message).not.toContain(PASSWORD);
      expect(took).toBeLessThan(10_000); // the bound is 1 s + 2 s; without it the call never returns
      expect(
        await waitFor('the store to answer again', () =>
          store.recordCommits([
            {
              edge: 'hang',
              epoch: 'e1',
              seq: 1,
              receivedAt: 1,
              partition: 'hang',
              batch: new Uint8Array([1]),
            },
          ]),
        ),
      ).toEqual([true]);
    } finally {
      await pg.resume().catch(() => {});
      await store.close();
    }
  }, 60_000);

  it('a host frozen while firing: its claimed deadline fires on another host once the server ends the frozen session', async () => {
    const [frozen, live] = await Promise.all(
      [1, 2].map(() => openPostgresSharedStore({ url, idleInTransactionMs: 500 })),
    );
    try {
      await live.scheduleDeadline({ key: 'frz-1', partition: 'frz', dueAt: 1000, payload: { n: 1 } });
      let thaw!: () => void;
      let claimed!: () => void;
      const isClaimed = new Promise<void>((r) => {
        claimed = r;
      });
      // A fire that does not settle until thawed: the host froze with the row claimed.
      const stuck = frozen.fireDue(2000, 10, () => {
        claimed();
        return new Promise<void>((r) => {
          thaw = r;
        });
      });
      await isClaimed;
      const firedLive: string[] = [];
      expect(await live.fireDue(2000, 10, async (d) => void firedLive.push(d.key))).toBe(0); // locked: skipped
      await waitFor(
        'the live host to fire the frozen host’s deadline',
        async () => (await live.fireDue(2000, 10, async (d) => void firedLive.push(d.key))) === 1,
        { timeoutMs: 20_000 },
      );
      expect(firedLive).toEqual(['frz-1']);
      thaw();
      const err = await failure(stuck);
      expect(err).toBeInstanceOf(SharedStoreError);
      expect(err.code).toBe('unreachable');
      expect(await live.fireDue(2000, 10, async () => {})).toBe(0); // fired once, gone
    } finally {
      await frozen.close();
      await live.close();
    }
  }, 60_000);

  it('(e) PostgreSQL restarts mid-run: calls fail with a typed error while it is down, then work again, nothing lost', async () => {
    const logs: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
    const stores: SharedStore[] = await Promise.all(
      [1, 2, 3].map(() => openPostgresSharedStore({ url, log })),
    );
    const errors: unknown[] = [];
    let groups = 0;
    const N = 240;
    try {
      const writers = stores.map(async (store, w) => {
        // Each writer commits all N seqs of its edge and of the next writer's edge (overlap).
        for (let q = 1; q <= N; q += 4) {
          const group = [w, (w + 1) % 3].flatMap((e) =>
            [q, q + 1, q + 2, q + 3].map((seq) => ({
              edge: `rst-${e}`,
              epoch: 'e1',
              seq,
              receivedAt: seq,
              partition: 'rst',
              batch: new Uint8Array([e, seq & 0xff]),
            })),
          );
          // As the ingest does (the edge resends until acked): retry the group until it commits.
          await waitFor(
            `writer ${w} to commit seqs ${q}..${q + 3}`,
            async () => {
              try {
                return await store.recordCommits(group);
              } catch (err) {
                errors.push(err);
                throw err;
              }
            },
            { timeoutMs: 60_000 },
          );
          groups++;
        }
      });
      await waitFor('a few groups committed before the restart', () => groups >= 10);
      await pg.restart();
      await Promise.all(writers);

      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) {
        expect(e).toBeInstanceOf(SharedStoreError);
        expect((e as SharedStoreError).code).toBe('unreachable');
      }
      for (const e of [0, 1, 2]) {
        expect(await stores[0]!.snapshot(`rst-${e}`, 'e1')).toEqual({ highWater: N, above: [] });
      }
      const rows = await stores[1]!.readJournal('rst', 0, 10_000);
      expect(rows.map((r) => r.position)).toEqual(Array.from({ length: 3 * N }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => `${r.edge}/${r.seq}`)).size).toBe(3 * N);
      expect(logs.join('')).toMatch(/shared store unreachable/);
      expect(logs.join('')).not.toContain(PASSWORD);
    } finally {
      for (const s of stores) await s.close();
    }
  }, 120_000);
});
