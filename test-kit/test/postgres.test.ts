import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Postgres, startPostgres } from '../src/postgres.js';
import { runTool } from '../src/run-tool.js';

/** Talks to the server through Debian's psql, a client we did not write. */
async function psql(pg: Postgres, sql: string): Promise<string> {
  const r = await runTool('psql', [pg.url, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  if (r.code !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

describe('startPostgres', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres({ database: 'kit', settings: { work_mem: '5MB' } });
  }, 60_000);
  afterAll(() => pg?.stop());

  it('serves the created database on 127.0.0.1 with the settings given, durable as shipped', async () => {
    expect(pg.url).toBe(`postgres://village@127.0.0.1:${pg.port}/kit`);
    expect(
      await psql(
        pg,
        "SELECT current_database(), current_setting('listen_addresses'), current_setting('work_mem'), current_setting('synchronous_commit')",
      ),
    ).toBe('kit|127.0.0.1|5MB|on');
  });

  it('keeps the data through restart() and through kill() then restart() (crash recovery)', async () => {
    await psql(pg, 'CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
    await pg.restart();
    await psql(pg, 'INSERT INTO t VALUES (2)');
    await pg.kill();
    await expect(psql(pg, 'SELECT 1')).rejects.toThrow(/connection|refused/i);
    await pg.restart();
    expect(await psql(pg, "SELECT string_agg(v::text, ',' ORDER BY v) FROM t")).toBe('1,2');
  }, 60_000);

  it('pause() leaves connections unanswered until resume()', async () => {
    await pg.pause();
    const r = await runTool('psql', [`${pg.url}?connect_timeout=2`, '-X', '-c', 'SELECT 1']);
    await pg.resume();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/timeout expired/);
    expect(await psql(pg, 'SELECT 41 + 1')).toBe('42');
  }, 60_000);

  it('stop() removes the folder', async () => {
    const other = await startPostgres();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
    expect(existsSync(other.dataDir)).toBe(false);
  }, 60_000);
});
