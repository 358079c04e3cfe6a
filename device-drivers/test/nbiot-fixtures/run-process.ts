import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs an external peer (coap-client-notls, sipp, curl) in its own process group and kills the
 * whole group if it outlives `timeoutMs`, so a hung peer never leaks past a test.
 */
export function runProcess(
  cmd: string,
  args: string[],
  { timeoutMs = 20_000, cwd }: { timeoutMs?: number; cwd?: string } = {},
) {
  return new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}
