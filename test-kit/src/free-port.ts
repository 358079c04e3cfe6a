import { createSocket } from 'node:dgram';
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

/** A UDP port that was free a moment ago on 127.0.0.1 (for peers such as sipp that need one named). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
