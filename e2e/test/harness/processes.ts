import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', '..', '..');
export const CLOUD_BIN = join(root, 'cloud-ingest', 'dist', 'bin', 'village-cloud.js');
export const EDGE_BIN = join(root, 'edge-agent', 'dist', 'bin', 'village-edge.js');

export interface Proc {
  child: ChildProcess;
  /** Resolves with the first JSON log line that matches. */
  line(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

/**
 * Starts a bin as a real child process. stdout (JSON log lines) is parsed and kept; both streams
 * are copied to `logFile` so a failing CI run can be read afterwards.
 */
export function startProc(bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr!.pipe(log, { end: false });
  const lines: Record<string, unknown>[] = [];
  const watchers: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    log.write(`${text}\n`);
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(text);
    } catch {
      return;
    }
    lines.push(l);
    if (lines.length > 10_000) lines.splice(0, 5_000);
    for (const w of [...watchers]) {
      if (w.match(l)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    line(match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${bin}: no matching log line within ${timeoutMs} ms`)),
          timeoutMs,
        );
        watchers.push({
          match,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        exited.then((code) => reject(new Error(`${bin} exited (${code}) before the expected log line`)));
      });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
