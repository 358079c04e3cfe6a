import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';
import { isPasswordHash } from '../password-hash.js';

/**
 * The `users:` and `auth:` sections of cloud.yaml. Both are optional: with no users, logins are
 * off and every request has full access (lab and demo mode, docs/api.md "Sessions").
 */
export const ROLES = ['admin', 'county', 'town', 'village'] as const;
export type Role = (typeof ROLES)[number];

const userSchema = z
  .strictObject({
    username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._@-]'),
    passwordHash: z
      .string()
      .refine(
        isPasswordHash,
        'must be a hash printed by `village-cloud hash-password` (scrypt$N$r$p$salt$hash)',
      ),
    role: z.enum(ROLES),
    /** County, town or village id matching the role (registry.yaml); not needed for admin. */
    place: z.string().regex(ID_PATTERN, 'must be a registry id').optional(),
    /** Shown in the dashboard and written into audit trails next to the username. */
    name: z.string().min(1).max(100),
  })
  .refine((u) => u.role === 'admin' || u.place !== undefined, {
    message: 'place is required for county, town and village officers',
    path: ['place'],
  });

export type UserConfig = z.infer<typeof userSchema>;

/** Optional (absent = no users) rather than defaulted, so a config without logins parses as before. */
export const usersSchema = z
  .array(userSchema)
  .refine((users) => new Set(users.map((u) => u.username)).size === users.length, 'usernames must be unique')
  .optional();

const authSectionSchema = z.strictObject({
  /** How long a session lasts after login, ms (default 8 h: one office shift). */
  sessionTtlMs: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(8 * 3_600_000),
  /** Adds `Secure` to the session cookie; default: on when the API serves HTTPS (http.tls). */
  secureCookie: z.boolean().optional(),
  /**
   * Failed logins per account and per client address (auth/login-throttle.ts): after the free
   * failures, each further one locks that account or address for a doubling delay, up to maxDelayMs.
   */
  loginThrottle: z
    .strictObject({
      accountFreeFailures: z.number().int().min(1).max(1000).default(5),
      /** Higher than per account: one office behind NAT shares an address. */
      addressFreeFailures: z.number().int().min(1).max(10_000).default(20),
      baseDelayMs: z.number().int().min(1).max(3_600_000).default(1_000),
      maxDelayMs: z
        .number()
        .int()
        .min(1)
        .max(86_400_000)
        .default(15 * 60_000),
      /** A key with no failure for this long starts again from zero. */
      forgetAfterMs: z
        .number()
        .int()
        .min(1_000)
        .max(7 * 86_400_000)
        .default(3_600_000),
    })
    .prefault({}),
  /**
   * Password checks (scrypt) running at once for logins. Node's thread pool has 4 threads and the
   * broker's edge authentication needs some of them: keep this below 4 (auth/login-work-limit.ts).
   */
  loginConcurrency: z.number().int().min(1).max(16).default(2),
  /** Logins waiting for a password check; more are answered 503 at once. */
  loginQueue: z.number().int().min(0).max(1000).default(16),
});

/** Optional for the same reason as usersSchema; authOrDefaults fills it in. */
export const authSchema = authSectionSchema.optional();

export type AuthConfig = z.infer<typeof authSectionSchema>;

/** The auth settings with every default filled in, for a config without an `auth:` section. */
export const authOrDefaults = (auth: AuthConfig | undefined): AuthConfig =>
  auth ?? authSectionSchema.parse({});
