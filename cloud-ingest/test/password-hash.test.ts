import { describe, expect, it } from 'vitest';
import { hashPassword, isPasswordHash, verifyPassword } from '../src/password-hash.js';

describe('edge password hashing (scrypt)', () => {
  it('hashes in the scrypt$N$r$p$salt$hash format with a fresh salt each time', () => {
    const a = hashPassword('s3cret');
    const b = hashPassword('s3cret');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(isPasswordHash(a)).toBe(true);
  });

  it('verifies the right password only', async () => {
    const h = hashPassword('s3cret');
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword(Buffer.from('s3cret'), h)).toBe(true);
    expect(await verifyPassword('s3cret ', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('refuses malformed or dangerous hashes instead of throwing', async () => {
    for (const bad of [
      '',
      'plain-text',
      'scrypt$16384$8$1$abc',
      'scrypt$1000$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==',
      'scrypt$1073741824$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==',
    ]) {
      expect(isPasswordHash(bad)).toBe(false);
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });
});
