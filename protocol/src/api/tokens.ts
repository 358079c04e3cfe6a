import { z } from 'zod/mini';

/** An API token as listed (`GET /tokens`): never its secret, which only the issuing answer carries. */
export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['admin', 'county', 'town', 'village']),
  place: z.nullable(z.string()),
  access: z.enum(['read', 'read-write']),
  createdBy: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  revokedAt: z.nullable(z.number()),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

/** `POST /tokens`: the secret, shown this once, beside the record. */
export const issuedTokenResponseSchema = z.extend(apiTokenSchema, { token: z.string() });
export type IssuedTokenResponse = z.infer<typeof issuedTokenResponseSchema>;

export const tokensResponseSchema = z.object({ tokens: z.array(apiTokenSchema) });
export type TokensResponse = z.infer<typeof tokensResponseSchema>;

export const revokedTokenResponseSchema = z.object({ id: z.string(), revoked: z.literal(true) });
export type RevokedTokenResponse = z.infer<typeof revokedTokenResponseSchema>;
