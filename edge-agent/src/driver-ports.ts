import { type Socket, createSocket } from 'node:dgram';
import { type Server, createServer } from 'node:net';
import type { DriverKind, DriverListen } from '@village/device-drivers';
import { portError } from '@village/service-kit';
import type { ResolvedDriverConfig } from './config.js';

/**
 * Try-binds every port the configured drivers will listen on (`DriverKind.listens`), then
 * releases them; throws a PortError naming `drivers[i].<key>` for the first that cannot be bound.
 * Run before the outbox opens: a port in use is a config problem (exit 2, no boot), and the
 * supervisor would otherwise restart the driver forever. All are held until all are bound, so two
 * drivers given the same port are found too. A port taken between this check and the driver's own
 * bind is still the supervisor's (restart with backoff).
 */
export async function checkDriverPorts(
  drivers: readonly ResolvedDriverConfig[],
  kinds: ReadonlyMap<string, DriverKind>,
): Promise<void> {
  const held: (Server | Socket)[] = [];
  try {
    for (const [i, d] of drivers.entries()) {
      for (const l of kinds.get(d.kind)?.listens?.(d.config) ?? []) {
        // Port 0 asks for any free port: nothing to check.
        if (l.port === 0) continue;
        held.push(
          await bind(l).catch((err: unknown) => {
            throw portError(err, `drivers[${i}].${l.key}`, l.host, l.port);
          }),
        );
      }
    }
  } finally {
    await Promise.all(held.map(release));
  }
}

function bind(l: DriverListen): Promise<Server | Socket> {
  return new Promise((resolve, reject) => {
    if (l.protocol === 'tcp') {
      const server = createServer();
      server.once('error', reject);
      server.listen({ host: l.host, port: l.port, exclusive: true }, () => resolve(server));
    } else {
      // The drivers bind IPv4 sockets (udp4); the same family finds the same conflicts.
      const sock = createSocket('udp4');
      sock.once('error', (err) => {
        sock.close();
        reject(err);
      });
      try {
        sock.bind(l.port, l.host, () => resolve(sock));
      } catch (err) {
        // A bad port number throws synchronously (ERR_SOCKET_BAD_PORT).
        sock.close();
        reject(err);
      }
    }
  });
}

function release(h: Server | Socket): Promise<void> {
  return new Promise((resolve) => h.close(() => resolve()));
}
