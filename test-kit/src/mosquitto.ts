import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/**
 * The broker files shipped to operators, which the tests run as they are: read (as data, not
 * imported) from cloud-ingest/examples of this checkout (test-kit/dist/ → ../../cloud-ingest).
 */
const SHIPPED_EXAMPLES = join(import.meta.dirname, '..', '..', 'cloud-ingest', 'examples');

export interface Mosquitto {
  /** The edges' listener (client id = username). */
  url: string;
  port: number;
  /** The ingest workers' listener (their own client ids). */
  ingestUrl: string;
  dir: string;
  /** Everything mosquitto logged (stderr), for asserting on drops and refusals. */
  log(): string;
  /** SIGKILL (a crashed or lost broker: no will is sent, sessions end without DISCONNECT). */
  kill(): Promise<void>;
  /** Starts it again on the same ports with the same files (after kill() or stop()); resolves once it listens. */
  restart(): Promise<void>;
  /** SIGSTOP: a frozen broker (its clients' sessions stay open, unanswered) until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

async function waitForListening(
  logFile: string,
  exited: Promise<unknown>,
  timeoutMs = 20_000,
  /** How many "Opening" lines the log holds once it listens (it is appended to across restarts). */
  sockets = 2,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`mosquitto exited during start: ${readFileSync(logFile, 'utf8')}`);
    // Both listeners of examples/mosquitto.conf: the edges' and the ingest workers'.
    if ((readFileSync(logFile, 'utf8').match(/Opening ipv4 listen socket/g) ?? []).length >= sockets) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A real Mosquitto 2.x on a free 127.0.0.1 port, configured from cloud-ingest/examples/mosquitto.conf
 * and mosquitto.acl (the files shipped to operators), with a password file hashed by
 * `mosquitto_passwd -U` and persistence in the temp folder. `users`: name → password.
 * Started as root, mosquitto drops to the `mosquitto` user, so the folder is handed to it.
 */
export async function startMosquitto(
  users: Record<string, string>,
  {
    extraConf = '',
    extraAcl = '',
    examples = SHIPPED_EXAMPLES,
  }: { extraConf?: string; extraAcl?: string; examples?: string } = {},
): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const ingestPort = await freePort();
  const passwd = join(dir, 'village.passwd');
  // Plain `user:password` lines hashed in one `mosquitto_passwd -U` (sha512-pbkdf2, as `-b` does):
  // `-b` rewrites the whole file per user, 2 s for 200 users and quadratic; `-U` takes 0.3 s for 1,000.
  writeFileSync(
    passwd,
    Object.entries(users)
      .map(([user, password]) => `${user}:${password}\n`)
      .join(''),
  );
  // -U fails on an empty file.
  if (Object.keys(users).length > 0) execFileSync('mosquitto_passwd', ['-U', passwd], { stdio: 'ignore' });
  const acl = join(dir, 'village.acl');
  // A `user` section before the shipped file's, so the shipped one stays as it is.
  writeFileSync(acl, `${extraAcl}\n${readFileSync(join(examples, 'mosquitto.acl'), 'utf8')}`);
  const conf = readFileSync(join(examples, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${port} 127.0.0.1`)
    .replace(/^listener 1884 127\.0\.0\.1$/m, `listener ${ingestPort} 127.0.0.1`)
    .replace(/^password_file .*$/m, `password_file ${passwd}`)
    .replace(/^acl_file .*$/m, `acl_file ${acl}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`);
  if (
    !conf.includes(`listener ${port} 127.0.0.1`) ||
    !conf.includes(`listener ${ingestPort} 127.0.0.1`) ||
    !conf.includes(passwd)
  ) {
    throw new Error('examples/mosquitto.conf changed: the test could not place port and files');
  }
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, `${conf}\n${extraConf}\n`);
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).trim());
    for (const f of [dir, passwd, acl, confFile]) chownSync(f, uid, gid);
  }
  const logFile = join(dir, 'mosquitto.log');
  writeFileSync(logFile, '');
  let proc: ServerProcess = startServerProcess('mosquitto', ['-c', confFile], logFile);
  const m: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    ingestUrl: `mqtt://127.0.0.1:${ingestPort}`,
    dir,
    log: () => readFileSync(logFile, 'utf8'),
    async kill() {
      const { child, exited } = proc;
      // Not stop(): its SIGTERM would let mosquitto close the sessions cleanly first.
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
    async restart() {
      await proc.stop();
      const listening = (m.log().match(/Opening ipv4 listen socket/g) ?? []).length;
      proc = startServerProcess('mosquitto', ['-c', confFile], logFile);
      await waitForListening(logFile, proc.exited, 20_000, listening + 2);
    },
    pause: () => process.kill(-proc.child.pid!, 'SIGSTOP'),
    resume: () => process.kill(-proc.child.pid!, 'SIGCONT'),
    stop: () => proc.stop(),
    async dispose() {
      await proc.stop();
      if (!process.env.KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForListening(logFile, proc.exited);
  } catch (err) {
    await m.dispose();
    throw err;
  }
  return m;
}
