import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isPasswordHash, verifyPassword } from '../password-hash.js';

/**
 * Edge credentials are machine secrets, not passwords. A secret minted by `village-cloud
 * new-edge-secret` is 256 random bits, so its SHA-256 is as safe at rest as any slow hash
 * (nothing to guess) and verifies in microseconds: a county's edges get back in within seconds
 * after a cloud restart. Stored as `sha256$<64 hex>`.
 *
 * Hashes from `village-cloud hash-password` (`scrypt$...`) keep working: scrypt runs once per
 * edge and process, then a keyed in-memory cache answers (see verifyEdgeSecret).
 */
const SHA256_PATTERN = /^sha256\$([0-9a-f]{64})$/;
const SECRET_BYTES = 32;

export interface NewEdgeSecret {
  /** Give to the edge (its `cloud.password`); shown once, never stored by the cloud. */
  secret: string;
  /** For cloud.yaml `edges[].passwordHash`. */
  passwordHash: string;
}

export function newEdgeSecret(): NewEdgeSecret {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { secret, passwordHash: sha256Hash(secret) };
}

export function sha256Hash(secret: Buffer | string): string {
  return `sha256$${createHash('sha256').update(secret).digest('hex')}`;
}

/** A hash an edge may be configured with: `sha256$<hex>` or `scrypt$...`. */
export function isEdgeSecretHash(hash: string): boolean {
  return SHA256_PATTERN.test(hash) || isPasswordHash(hash);
}

// Answers for an unknown edge as a SHA-256 check would, so neither refusal is cheaper to tell
// apart, and an unknown name costs no scrypt (a flood of them cannot pin the CPU).
const DUMMY_HASH = sha256Hash(randomBytes(SECRET_BYTES));

// The scrypt cache: stored hash → HMAC of the password that matched it, under a key made at
// start and never written anywhere. A hit needs the same password again; a memory dump yields
// only HMACs under a key that dies with the process. One entry per configured edge at most.
const cacheKey = randomBytes(32);
const scryptVerified = new Map<string, Buffer>();
const keyed = (hash: string, password: Buffer | string) =>
  createHmac('sha256', cacheKey).update(hash).update('\0').update(password).digest();

/**
 * Checks an edge's CONNECT password against its configured hash (undefined: unknown edge, always
 * false). SHA-256 hashes and cached scrypt hashes answer synchronously-fast; a scrypt hash seen
 * for the first time costs one scrypt, and only a match is cached.
 */
export async function verifyEdgeSecret(
  password: Buffer | string,
  hash: string | undefined,
): Promise<boolean> {
  const stored = hash ?? DUMMY_HASH;
  const sha = SHA256_PATTERN.exec(stored);
  if (sha) {
    const ok = timingSafeEqual(createHash('sha256').update(password).digest(), Buffer.from(sha[1]!, 'hex'));
    return ok && hash !== undefined;
  }
  const mac = keyed(stored, password);
  const known = scryptVerified.get(stored);
  if (known !== undefined && timingSafeEqual(known, mac)) return true;
  const ok = await verifyPassword(password, stored);
  if (ok) scryptVerified.set(stored, mac);
  return ok;
}

/** Checks a password against each hash an edge has now (two during a rotation's overlap). */
export async function verifyEdgeSecrets(
  password: Buffer | string,
  hashes: readonly string[] | undefined,
): Promise<boolean> {
  if (hashes === undefined || hashes.length === 0) return verifyEdgeSecret(password, undefined);
  for (const hash of hashes) if (await verifyEdgeSecret(password, hash)) return true;
  return false;
}
