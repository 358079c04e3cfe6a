import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Digest access authentication, server side: RFC 7616 for HTTP (SHA-256 and MD5, qop=auth) and
 * the RFC 2617 form SIP uses (RFC 3261 §22.4, GB/T 28181 REGISTER).
 *
 * Nonces are "{issued ms}.{random}.{HMAC(process secret, issued.random)}" (RFC 7616 §3.3
 * suggests a timestamp plus a private key), valid for `nonceTtlMs`; an old one gets
 * `stale=true`. Each nonce's nonce-count must increase (§3.4.5), tracked for a bounded number of
 * recent nonces. With `singleUseNonces` (SIP REGISTER), the verifier also remembers the nonces it
 * issued and forgets each at its first successful use: a recorded request, replayed from
 * anywhere, names a nonce that is no longer outstanding and gets a fresh challenge (stale).
 */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

export type DigestFailure = 'missing' | 'malformed' | 'stale' | 'bad_credentials' | 'replay';

export type DigestResult = { ok: true; username: string } | { ok: false; reason: DigestFailure };

export interface DigestVerifier {
  /** A WWW-Authenticate value. */
  challenge(algorithm: DigestAlgorithm, stale?: boolean): string;
  /**
   * Checks an Authorization header for `method` and request `uri` (undefined: accept the
   * header's own `uri`, see gb28181-server.ts). `passwordFor` returns the
   * password of a known user (undefined for unknown users, which fail like a wrong password).
   */
  verify(
    header: string | undefined,
    method: string,
    uri: string | undefined,
    passwordFor: (user: string) => string | undefined,
  ): DigestResult;
}

const MAX_HEADER = 2048;
const MAX_TRACKED_NONCES = 4096;
const PARAM = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/y;

export function parseDigestParams(header: string): Record<string, string> | undefined {
  if (header.length > MAX_HEADER) return undefined;
  const m = /^\s*Digest\s+/i.exec(header);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  PARAM.lastIndex = m[0].length;
  while (PARAM.lastIndex < header.length) {
    const start = PARAM.lastIndex;
    const p = PARAM.exec(header);
    if (!p) return undefined;
    out[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    // skip whitespace between parameters
    while (header[PARAM.lastIndex] === ' ') PARAM.lastIndex++;
    if (PARAM.lastIndex === start) return undefined;
  }
  return out;
}

export function createDigestVerifier(opts: {
  realm: string;
  nonceTtlMs?: number;
  requireQop: boolean;
  /** Each issued nonce authenticates one request only (then the client is challenged again). */
  singleUseNonces?: boolean;
  now?: () => number;
}): DigestVerifier {
  const secret = randomBytes(32);
  const ttl = opts.nonceTtlMs ?? 300_000;
  const now = opts.now ?? Date.now;
  const counts = new Map<string, number>();
  /** Issued and not yet used (singleUseNonces), oldest first; bounded like `counts`. */
  const outstanding = new Set<string>();
  const sign = (issued: string) =>
    createHmac('sha256', secret).update(issued).digest('base64url').slice(0, 22);
  const newNonce = () => {
    const issued = `${now()}.${randomBytes(6).toString('base64url')}`;
    const nonce = `${issued}.${sign(issued)}`;
    if (opts.singleUseNonces) {
      outstanding.add(nonce);
      if (outstanding.size > MAX_TRACKED_NONCES) outstanding.delete(outstanding.values().next().value!);
    }
    return nonce;
  };

  return {
    challenge(algorithm, stale = false) {
      return (
        `Digest realm="${opts.realm}", qop="auth", algorithm=${algorithm}, nonce="${newNonce()}", ` +
        `opaque="${randomBytes(8).toString('hex')}"${stale ? ', stale=true' : ''}`
      );
    },

    verify(header, method, uri, passwordFor) {
      if (!header) return { ok: false, reason: 'missing' };
      const p = parseDigestParams(header);
      if (!p || !p.username || !p.nonce || !p.response || !p.uri) return { ok: false, reason: 'malformed' };
      const algorithm = (p.algorithm ?? 'MD5').toUpperCase();
      if (algorithm !== 'MD5' && algorithm !== 'SHA-256') return { ok: false, reason: 'malformed' };
      if (p.realm !== opts.realm) return { ok: false, reason: 'bad_credentials' };
      const [issued, salt, mac] = p.nonce.split('.');
      if (!issued || !salt || !mac || sign(`${issued}.${salt}`) !== mac)
        return { ok: false, reason: 'bad_credentials' };
      if (now() - Number(issued) > ttl) return { ok: false, reason: 'stale' };
      if (uri !== undefined && p.uri !== uri) return { ok: false, reason: 'bad_credentials' };
      const qop = p.qop;
      if (qop !== undefined && qop !== 'auth') return { ok: false, reason: 'malformed' };
      if (qop === undefined && opts.requireQop) return { ok: false, reason: 'malformed' };
      if (qop && (!p.nc || !/^[0-9a-fA-F]{8}$/.test(p.nc) || !p.cnonce))
        return { ok: false, reason: 'malformed' };
      const password = passwordFor(p.username);
      const h = (s: string) =>
        createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
          .update(s, 'utf8')
          .digest('hex');
      const ha1 = h(`${p.username}:${opts.realm}:${password ?? randomBytes(16).toString('hex')}`);
      const ha2 = h(`${method}:${p.uri}`);
      const want = qop
        ? h(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${qop}:${ha2}`)
        : h(`${ha1}:${p.nonce}:${ha2}`);
      const got = Buffer.from(p.response.toLowerCase());
      if (password === undefined || got.length !== want.length || !timingSafeEqual(got, Buffer.from(want))) {
        return { ok: false, reason: 'bad_credentials' };
      }
      if (opts.singleUseNonces) {
        // Checked after the hash, so only a right answer can use a nonce up.
        if (!outstanding.delete(p.nonce)) return { ok: false, reason: 'replay' };
      }
      if (qop) {
        const nc = Number.parseInt(p.nc!, 16);
        const seen = counts.get(p.nonce) ?? 0;
        if (nc <= seen) return { ok: false, reason: 'replay' };
        counts.delete(p.nonce);
        counts.set(p.nonce, nc);
        if (counts.size > MAX_TRACKED_NONCES) counts.delete(counts.keys().next().value!);
      }
      return { ok: true, username: p.username };
    },
  };
}
