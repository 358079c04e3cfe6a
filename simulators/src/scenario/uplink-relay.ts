import net from 'node:net';

/**
 * A TCP relay between an edge and the cloud's MQTT port, so a scenario can cut the edge's
 * uplink (an `edge-outage`): while down, open connections are destroyed and new ones closed at
 * once, which the edge sees as a network failure and answers with its reconnect backoff.
 */
export interface UplinkRelay {
  readonly port: number;
  isDown(): boolean;
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

export async function startUplinkRelay(opts: {
  targetHost: string;
  targetPort: number;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}): Promise<UplinkRelay> {
  let down = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((inbound) => {
    if (down) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(opts.targetPort, opts.targetHost);
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of pair) {
      s.on('error', close);
      s.on('close', close);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    isDown: () => down,
    setDown(d) {
      down = d;
      if (d) for (const pair of pairs) for (const sock of pair) sock.destroy();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) for (const sock of pair) sock.destroy();
        server.close(() => resolve());
      }),
  };
}
