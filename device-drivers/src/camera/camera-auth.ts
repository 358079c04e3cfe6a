import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DigestFailure, DigestVerifier } from './digest-auth.js';
import type { HmacReplayStore } from './hmac-replay-store.js';

/**
 * Per-camera HTTP authentication of event pushes: Basic (RFC 7617), Digest (RFC 7616) or an
 * HMAC signature (docs/camera-integration.md):
 *   X-Village-Timestamp: ms epoch, strictly increasing per camera, within the allowed skew
 *   X-Village-Signature: hex HMAC-SHA256(secret, "{timestamp}.{METHOD} {path}." ‖ body)
 * The newest accepted timestamp per camera is kept by `replay` (on disk, so an edge restart does
 * not reopen the skew window to recorded requests).
 */
export type ResolvedAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'digest'; username: string; password: string }
  | { type: 'hmac'; secret: string };

export interface AuthRequest {
  method: string;
  /** Request target as sent (path and query), which digest's `uri` must equal. */
  target: string;
  header(name: string): string | undefined;
  body: Uint8Array;
}

export type AuthOutcome = { ok: true } | { ok: false; reason: DigestFailure | 'skew'; challenge?: string[] };

export function hmacSignature(
  secret: string,
  timestamp: string,
  method: string,
  path: string,
  body: Uint8Array,
): string {
  return createHmac('sha256', secret).update(`${timestamp}.${method} ${path}.`).update(body).digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createCameraAuthenticator(opts: {
  realm: string;
  digest: DigestVerifier;
  hmacSkewMs: number;
  now: () => number;
  replay: Pick<HmacReplayStore, 'last' | 'accept'>;
}) {
  return function authenticate(cameraId: string, auth: ResolvedAuth, req: AuthRequest): AuthOutcome {
    const header = req.header('authorization');
    if (auth.type === 'basic') {
      const basic = `Basic realm="${opts.realm}", charset="UTF-8"`;
      if (!header) return { ok: false, reason: 'missing', challenge: [basic] };
      const m = /^Basic\s+([A-Za-z0-9+/=]{1,512})$/i.exec(header);
      if (!m) return { ok: false, reason: 'malformed', challenge: [basic] };
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const ok = safeEqual(decoded, `${auth.username}:${auth.password}`);
      return ok ? { ok: true } : { ok: false, reason: 'bad_credentials', challenge: [basic] };
    }
    if (auth.type === 'digest') {
      const r = opts.digest.verify(header, req.method, req.target, (u) =>
        u === auth.username ? auth.password : undefined,
      );
      if (r.ok) return { ok: true };
      const stale = r.reason === 'stale';
      return {
        ok: false,
        reason: r.reason,
        challenge: [opts.digest.challenge('SHA-256', stale), opts.digest.challenge('MD5', stale)],
      };
    }
    const ts = req.header('x-village-timestamp');
    const sig = req.header('x-village-signature');
    if (!ts || !sig) return { ok: false, reason: 'missing' };
    if (!/^[0-9]{1,16}$/.test(ts) || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'malformed' };
    const path = req.target;
    if (!safeEqual(sig, hmacSignature(auth.secret, ts, req.method, path, req.body))) {
      return { ok: false, reason: 'bad_credentials' };
    }
    const t = Number(ts);
    if (Math.abs(opts.now() - t) > opts.hmacSkewMs) return { ok: false, reason: 'skew' };
    if (t <= opts.replay.last(cameraId)) return { ok: false, reason: 'replay' };
    opts.replay.accept(cameraId, t);
    return { ok: true };
  };
}
