import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

export interface Influxd {
  url: string;
  port: number;
  dir: string;
  /** Runs InfluxQL against `db` and returns the parsed JSON results (epoch=ms). */
  query(q: string, db?: string): Promise<InfluxResult[]>;
  /** Stops the server (data stays), e.g. to simulate an outage. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder; resolves when /ping answers. */
  start(): Promise<void>;
  /** Stops it and deletes the temp folder. */
  dispose(): Promise<void>;
}

export interface InfluxResult {
  series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
  error?: string;
}

async function waitForPing(url: string, exited: Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error('influxd exited during start (see influxd.log)');
    try {
      if ((await fetch(`${url}/ping`)).status === 204) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`influxd did not answer /ping within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A real InfluxDB 1.x (Debian's influxd) on free 127.0.0.1 ports with every folder in a temp dir.
 * The config is `influxd config`'s default with dirs and bind addresses replaced (its defaults
 * listen on all interfaces and write under /var/lib). Creates `databases` once it answers.
 */
export async function startInfluxd(databases: string[] = ['village']): Promise<Influxd> {
  const dir = mkdtempSync(join(tmpdir(), 'influxd-'));
  for (const d of ['meta', 'data', 'wal']) mkdirSync(join(dir, d));
  const [port, rpcPort] = [await freePort(), await freePort()];
  const config = execFileSync('influxd', ['config'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .replace(/^(\s*)dir = ".*"$/m, `$1dir = "${join(dir, 'meta')}"`)
    .replace(/^(\s*)dir = "\/var\/lib\/influxdb\/data"$/m, `$1dir = "${join(dir, 'data')}"`)
    .replace(/^(\s*)wal-dir = ".*"$/m, `$1wal-dir = "${join(dir, 'wal')}"`)
    .replace(/^bind-address = ".*"$/m, `bind-address = "127.0.0.1:${rpcPort}"`)
    .replace(/^(\s*)bind-address = ":8086"$/m, `$1bind-address = "127.0.0.1:${port}"`)
    .replace(/^(\s*)bind-address = ":(\d+)"$/gm, '$1bind-address = "127.0.0.1:0"')
    .replace(/^reporting-enabled = .*$/m, 'reporting-enabled = false')
    .replace(/^(\s*)store-enabled = true$/m, '$1store-enabled = false')
    .replace(/^(\s*)query-log-enabled = true$/m, '$1query-log-enabled = false')
    .replace(/^(\s*)log-enabled = true$/gm, '$1log-enabled = false');
  if (!config.includes(join(dir, 'meta')) || !config.includes(`127.0.0.1:${port}`)) {
    throw new Error(
      'influxd config: could not place the dirs and bind addresses (unexpected default config)',
    );
  }
  const confFile = join(dir, 'influxdb.conf');
  writeFileSync(confFile, config);
  const url = `http://127.0.0.1:${port}`;
  let proc: ServerProcess | undefined;

  const query = async (q: string, db = databases[0] ?? 'village'): Promise<InfluxResult[]> => {
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      body: new URLSearchParams({ q, db, epoch: 'ms' }),
    });
    const body = (await res.json()) as { results?: InfluxResult[]; error?: string };
    if (body.error) throw new Error(`InfluxDB: ${body.error}`);
    return body.results ?? [];
  };

  const i: Influxd = {
    url,
    port,
    dir,
    query,
    async start() {
      proc = startServerProcess('influxd', ['run', '-config', confFile], join(dir, 'influxd.log'));
      await waitForPing(url, proc.exited);
    },
    async stop() {
      await proc?.stop();
    },
    async dispose() {
      await proc?.stop();
      if (!process.env.KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await i.start();
    for (const db of databases) await query(`CREATE DATABASE ${JSON.stringify(db)}`);
  } catch (err) {
    await i.dispose();
    throw err;
  }
  return i;
}
