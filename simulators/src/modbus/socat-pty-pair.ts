import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A virtual serial cable: two pseudo-terminals joined by socat, so a master opens one end and
 * a simulated RS-485 bus the other. socat prints each pty's path on stderr at -d -d.
 */
export interface PtyPair {
  /** The two /dev/pts paths. */
  readonly a: string;
  readonly b: string;
  close(): Promise<void>;
}

/** Waits this long for socat to report both ptys, ms. */
const START_TIMEOUT_MS = 10_000;

export function openPtyPair(): Promise<PtyPair> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], {
    detached: true, // own process group, so close() ends socat and nothing else
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const paths: string[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      kill(child);
      reject(new Error(`socat did not report two ptys within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start socat: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (paths.length < 2) reject(new Error(`socat exited with ${code}: ${stderr}`));
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      for (const m of text.matchAll(/PTY is (\/dev\/\S+)/g)) paths.push(m[1]!);
      if (paths.length === 2) {
        clearTimeout(timer);
        resolve({ a: paths[0]!, b: paths[1]!, close: () => stop(child) });
      }
    });
  });
}

function kill(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    kill(child);
  });
}
