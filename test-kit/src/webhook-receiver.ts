import { createHmac } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookRequest {
  /** Wall-clock time it arrived. */
  at: number;
  /** The raw body, as signed. */
  raw: string;
  /** The body parsed as JSON (`{}` when it is not JSON; then the answer was 400). */
  body: Record<string, unknown>;
  signature: string | undefined;
  delivery: string | undefined;
  /** Whether X-Village-Signature is `sha256=` + the HMAC-SHA256 of the raw body with the secret. */
  signed: boolean;
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** The requests it accepted (answered 200), in order. */
  got: WebhookRequest[];
  /** Every request, refused ones included, in order. */
  requests: WebhookRequest[];
  /** How many it refused with 500 (see `failFirst`). */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server standing in for an officers' alerting endpoint: answers the first
 * `failFirst` requests with 500 (to exercise retries), then 200, and keeps every request.
 */
export function startWebhookReceiver(
  secret: string,
  { failFirst = 0 }: { failFirst?: number } = {},
): Promise<WebhookReceiver> {
  const got: WebhookRequest[] = [];
  const requests: WebhookRequest[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = req.headers['x-village-signature'] as string | undefined;
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const status = body === undefined ? 400 : refused < failFirst ? 500 : 200;
      if (status === 500) refused++;
      const r: WebhookRequest = {
        at: Date.now(),
        raw,
        body: body ?? {},
        signature,
        delivery: req.headers['x-village-delivery'] as string | undefined,
        signed: signature === `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`,
        status,
      };
      requests.push(r);
      if (status === 200) got.push(r);
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        got,
        requests,
        get refused() {
          return refused;
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
