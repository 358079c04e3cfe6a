import { createServer } from 'node:net';

/**
 * A TCP port free right now on 127.0.0.1, for a server that takes its port from a config file or
 * must come back on the same port after a restart. (A server that can listen on port 0 should.)
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
