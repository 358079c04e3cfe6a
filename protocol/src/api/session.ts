import { z } from 'zod/mini';

/** Who is logged in (`GET /me`, `POST /login`); `anonymous` is everyone when no users are configured. */
export const userSchema = z.object({
  username: z.string(),
  role: z.enum(['admin', 'county', 'town', 'village', 'anonymous']),
  place: z.nullable(z.string()),
  name: z.string(),
});
export type User = z.infer<typeof userSchema>;

export const meResponseSchema = z.object({ user: userSchema });
export type MeResponse = z.infer<typeof meResponseSchema>;

export const loginResponseSchema = z.object({ user: userSchema, expiresAt: z.number() });
export type LoginResponse = z.infer<typeof loginResponseSchema>;

export const logoutResponseSchema = z.object({ ok: z.literal(true) });
export type LogoutResponse = z.infer<typeof logoutResponseSchema>;
