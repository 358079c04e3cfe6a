import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  /** stdout as UTF-8 text; `stdoutBytes` for a peer that prints binary. */
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs a peer tool we did not write (coap-client-notls, sipp, curl, mbpoll) to completion, in its
 * own process group, and kills the whole group if it outlives `timeoutMs`, so a hung peer never
 * leaks past a test. Resolves when its output is closed, with its exit code (null when killed).
 */
export function runTool(
  cmd: string,
  args: string[],
  { timeoutMs = 30_000, cwd }: { timeoutMs?: number; cwd?: string } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
  });
}
