import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Edge credentials are stored only as `scrypt$N$r$p$saltBase64$hashBase64`.
 * N=16384, r=8, p=1 (RFC 7914 §2 interactive-login parameters), 16-byte salt, 32-byte key.
 */
const N = 16384;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
/** scrypt memory is 128·N·r bytes; refuse parameters that would exhaust memory (64 MiB here). */
const MAX_MEMORY = 64 * 1024 * 1024;

export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_BYTES);
  const key = scryptSync(password, salt, KEY_BYTES, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(hash: string): ParsedHash | undefined {
  const m = HASH_PATTERN.exec(hash);
  if (!m) return undefined;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // N must be a power of two above 1 (RFC 7914 §2).
  if (n < 2 || (n & (n - 1)) !== 0 || r < 1 || p < 1 || 128 * n * r > MAX_MEMORY) return undefined;
  const key = Buffer.from(m[5]!, 'base64');
  if (key.length < 16) return undefined;
  return { n, r, p, salt: Buffer.from(m[4]!, 'base64'), key };
}

export function isPasswordHash(hash: string): boolean {
  return parseHash(hash) !== undefined;
}

/** Checks a password against a stored hash in constant time (async: scrypt takes ~50 ms). */
export function verifyPassword(password: Buffer | string, hash: string): Promise<boolean> {
  const h = parseHash(hash);
  if (!h) return Promise.resolve(false);
  return new Promise((resolveResult) => {
    scrypt(password, h.salt, h.key.length, { N: h.n, r: h.r, p: h.p, maxmem: 2 * MAX_MEMORY }, (err, key) => {
      resolveResult(!err && timingSafeEqual(key, h.key));
    });
  });
}
