import { createHmac } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  body: Record<string, unknown>;
  delivery: string | undefined;
  /** Whether X-Village-Signature is the HMAC-SHA256 of the raw body with the shared secret. */
  signed: boolean;
}

/**
 * A real HTTP server standing in for a duty officer's alerting endpoint. It answers `failFirst`
 * requests with 500 (to exercise retries), then 200, and keeps every POST it accepted.
 */
export function startWebhookReceiver(
  secret: string,
  { failFirst = 0 }: { failFirst?: number } = {},
): Promise<{ url: string; got: ReceivedPost[]; refused: number; close(): Promise<void> }> {
  const state = { got: [] as ReceivedPost[], refused: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.refused < failFirst) {
        state.refused++;
        res.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const want = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
      state.got.push({
        body: JSON.parse(raw),
        delivery: req.headers['x-village-delivery'] as string | undefined,
        signed: req.headers['x-village-signature'] === want,
      });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        got: state.got,
        get refused() {
          return state.refused;
        },
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}
