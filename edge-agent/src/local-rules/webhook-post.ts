import { createHmac } from 'node:crypto';

/**
 * One POST of a local rule's webhook. The body is signed the way the cloud signs its incident
 * webhooks (docs/rules.md "Notifications"): `X-Village-Signature: sha256=<hex HMAC-SHA256 of the
 * raw body>`, and `X-Village-Delivery` stays the same on every retry so a receiver can drop
 * repeats. Anything but 2xx is a failure (the caller retries).
 */
export async function postWebhook(
  url: string,
  body: string,
  { secret, delivery, signal }: { secret?: string; delivery: string; signal: AbortSignal },
): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-village-delivery': delivery,
  };
  if (secret !== undefined)
    headers['x-village-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `POST ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  // Drain so the connection can be reused; the answer's content does not matter.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299)
    throw new Error(`POST ${new URL(url).origin}: HTTP ${res.status}`);
}
