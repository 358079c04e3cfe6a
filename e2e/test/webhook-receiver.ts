import { createHmac } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  at: number;
  body: Record<string, unknown>;
  /** Whether X-Village-Signature is the HMAC-SHA256 of the raw body with the shared secret. */
  signed: boolean;
}

/** A real HTTP server standing in for an officers' alerting service: answers 200, keeps every POST. */
export function startWebhookReceiver(
  secret: string,
): Promise<{ url: string; got: ReceivedHook[]; close(): Promise<void> }> {
  const got: ReceivedHook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const want = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
      got.push({
        at: Date.now(),
        body: JSON.parse(raw),
        signed: req.headers['x-village-signature'] === want,
      });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        got,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}
