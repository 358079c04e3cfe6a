import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

/** Debian's PostgreSQL 15 (package postgresql; scripts/check-test-deps.mjs checks for it). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres {
  /** postgres://village@127.0.0.1:PORT/DATABASE (trust auth: any password is accepted). */
  url: string;
  port: number;
  /** The temp folder: data/ (the cluster), postgres.log, and the unix socket. */
  dataDir: string;
  /** Everything the server logged, for asserting on what it saw. */
  log(): string;
  /** `pg_ctl restart -m fast` on the same port and data; resolves when it accepts connections again. */
  restart(): Promise<void>;
  /** SIGKILL to the server and its backends (a crash); `restart()` brings it back through recovery. */
  kill(): Promise<void>;
  /** SIGSTOP to the server and its backends: connections stay open and nothing answers (a hung host). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /** Stops the server and removes the temp folder. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** The database created for the tests. */
  database?: string;
  /** Extra server settings (`-c name=value`), e.g. `{ synchronous_commit: 'off' }`. */
  settings?: Record<string, string>;
}

const SUPERUSER = 'village';
const execFileAsync = promisify(execFile);

/**
 * A real PostgreSQL 15 (Debian's initdb and pg_ctl) in a mkdtemp folder on a free 127.0.0.1
 * port, its unix socket in that folder, `-A trust`, with `database` created. initdb and postgres
 * refuse to run as root, and tests run as root: then the folder is handed to the `postgres` user
 * and every server command runs as that user (runuser). Durable as shipped (fsync and
 * synchronous_commit on) unless `settings` says otherwise.
 */
export async function startPostgres({
  database = 'village',
  settings = {},
}: PostgresOptions = {}): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'postgres-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  // Async, so a test's clients keep running (and see the server down) while pg_ctl restarts it.
  const run = (tool: string, args: string[]) =>
    asRoot
      ? execFileAsync('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args])
      : execFileAsync(join(PG_BIN, tool), args);
  const port = await freePort();
  // Small: several servers of parallel test files share the machine.
  const all: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    shared_buffers: '16MB',
    max_connections: '100',
    ...settings,
  };
  const opts = Object.entries(all)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const ctl = (...args: string[]) => run('pg_ctl', ['-D', data, ...args]);
  const started = () => ctl('-o', opts, '-l', logFile, '-w', '-t', '60', 'start');

  const postmasterPid = (): number | undefined => {
    const pidFile = join(data, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** The postmaster's children (backends, checkpointer, ...): each calls setsid, so no group holds them all. */
  const children = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((n) => {
        try {
          // /proc/N/stat: "N (comm) S PPID ..."; comm may hold spaces, so read after the last ')'.
          const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone meanwhile
    }
  };
  /** The postmaster first (it forks no new backend then, nor restarts a killed one), then its children. */
  const signalAll = (sig: NodeJS.Signals) => {
    const pid = postmasterPid();
    if (pid === undefined || !alive(pid)) throw new Error('postgres is not running');
    const kids = children(pid);
    signal(pid, sig);
    for (const k of kids) signal(k, sig);
    return { pid, kids };
  };
  const killAll = async () => {
    const pid = postmasterPid();
    if (pid === undefined || !alive(pid)) return;
    const { kids } = signalAll('SIGKILL');
    const deadline = Date.now() + 10_000;
    while ([pid, ...kids].some(alive)) {
      if (Date.now() > deadline) throw new Error(`postgres ${pid} survived SIGKILL for 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  let restarting: Promise<unknown> = Promise.resolve();
  const pg: Postgres = {
    url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`,
    port,
    dataDir: dir,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async restart() {
      // After kill() there is only a stale pid file; pg_ctl restart then starts the server anyway.
      restarting = ctl('-o', opts, '-l', logFile, '-m', 'fast', '-w', '-t', '60', 'restart');
      await restarting;
    },
    kill: killAll,
    pause: async () => void signalAll('SIGSTOP'),
    resume: async () => void signalAll('SIGCONT'),
    async stop() {
      // A restart still under way (its test timed out) would start the server again after the stop.
      await restarting.catch(() => {});
      try {
        signalAll('SIGCONT'); // a paused server would not stop
      } catch {}
      try {
        // The folder is removed next: no shutdown checkpoint of every database the tests made
        // (a fast stop wrote them all, 10 s and more on a loaded box). Kept folders stop cleanly.
        await ctl('-m', process.env.KEEP_TEST_DIRS ? 'fast' : 'immediate', '-w', '-t', '30', 'stop');
      } catch {
        await killAll(); // not running, or did not stop in time
      }
      if (!process.env.KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run('initdb', ['-D', data, '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8', '--locale=C.UTF-8']);
    await started();
    await run('createdb', ['-h', dir, '-p', String(port), '-U', SUPERUSER, database]);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const log = pg.log();
    await pg.stop();
    throw new Error(`postgres did not start: ${e.message}${e.stderr ?? ''}\n${log}`);
  }
  return pg;
}
