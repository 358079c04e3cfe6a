import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Client side of the camera push authentication: Basic (RFC 7617), Digest (RFC 7616, answering
 * the SHA-256 or MD5 challenge with qop=auth), or the HMAC signature of docs/camera-integration.md.
 */
export type CameraAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'digest'; username: string; password: string }
  | { type: 'hmac'; secret: string }
  | { type: 'none' };

export async function postWithAuth(
  url: string,
  body: Uint8Array,
  contentType: string,
  auth: CameraAuth,
): Promise<Response> {
  const u = new URL(url);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (auth.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  } else if (auth.type === 'hmac') {
    const ts = String(Date.now());
    headers['x-village-timestamp'] = ts;
    headers['x-village-signature'] = createHmac('sha256', auth.secret)
      .update(`${ts}.POST ${u.pathname}${u.search}.`)
      .update(body)
      .digest('hex');
  }
  const first = await fetch(url, { method: 'POST', headers, body });
  if (auth.type !== 'digest' || first.status !== 401) return first;
  await first.arrayBuffer();
  const challenges = first.headers.get('www-authenticate') ?? '';
  // undici joins repeated headers with ", "; prefer the SHA-256 challenge (RFC 7616 §3.7)
  const parts = challenges.split(/,\s*(?=Digest\s)/i);
  const chosen = parts.find((p) => /algorithm=SHA-256\b/i.test(p)) ?? parts[0]!;
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`, 'i').exec(chosen)?.[1];
  const algorithm = param('algorithm') ?? 'MD5';
  const h = (s: string) =>
    createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5')
      .update(s)
      .digest('hex');
  const realm = param('realm')!;
  const nonce = param('nonce')!;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const uri = u.pathname + u.search;
  const response = h(
    `${h(`${auth.username}:${realm}:${auth.password}`)}:${nonce}:${nc}:${cnonce}:auth:${h(`POST:${uri}`)}`,
  );
  const opaque = param('opaque');
  headers.authorization =
    `Digest username="${auth.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", algorithm=${algorithm}, ` +
    `qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"${opaque ? `, opaque="${opaque}"` : ''}`;
  return fetch(url, { method: 'POST', headers, body });
}
