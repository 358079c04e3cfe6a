import { z } from 'zod/mini';

/**
 * The admin API (`/admin/...`, docs/api.md "Registry administration"). An entity carries
 * registry.yaml's fields of its kind, the parent by id; they differ by kind, so only `id` is
 * checked and the rest is kept as sent.
 */
export const registryEntitySchema = z.looseObject({ id: z.string() });
export type RegistryEntity = z.infer<typeof registryEntitySchema>;

/** `GET /admin/{plural}`: `{ [plural]: entities }`, e.g. `{ villages: [...] }`. */
export const registryEntitiesResponseSchema = z.record(z.string(), z.array(registryEntitySchema));
export type RegistryEntitiesResponse = z.infer<typeof registryEntitiesResponseSchema>;

/** An edge credential as listed: never its secret, kept only as a hash. */
export const edgeCredentialSchema = z.object({
  id: z.string(),
  edge: z.string(),
  createdAt: z.number(),
  createdBy: z.string(),
  /** null: no end (the current secret). */
  validUntil: z.nullable(z.number()),
  revokedAt: z.nullable(z.number()),
});
export type EdgeCredential = z.infer<typeof edgeCredentialSchema>;

/**
 * `POST /admin/edges/{id}/credentials`: the new secret, shown this once, and the credentials it
 * replaced (each with the end of its overlap).
 */
export const issuedEdgeCredentialSchema = z.object({
  secret: z.string(),
  credential: edgeCredentialSchema,
  previous: z.array(edgeCredentialSchema),
});
export type IssuedEdgeCredential = z.infer<typeof issuedEdgeCredentialSchema>;

/** `DELETE /admin/edges/{id}/credentials`: how many secrets ended and broker connections closed. */
export const revokedEdgeCredentialsResponseSchema = z.object({
  edge: z.string(),
  revoked: z.number(),
  disconnected: z.number(),
});
export type RevokedEdgeCredentialsResponse = z.infer<typeof revokedEdgeCredentialsResponseSchema>;

/** `POST /admin/{plural}`: `{ [kind]: entity }`, and a new edge's first secret (shown once). */
export const createdEntityResponseSchema = z.looseObject({
  credential: z.optional(issuedEdgeCredentialSchema),
});
export type CreatedEntityResponse = z.infer<typeof createdEntityResponseSchema>;

/** `DELETE /admin/{plural}/{id}`: `{ [kind]: null, before }`, and for an edge the connections closed. */
export const removedEntityResponseSchema = z.looseObject({
  before: z.nullable(registryEntitySchema),
  disconnected: z.optional(z.number()),
});
export type RemovedEntityResponse = z.infer<typeof removedEntityResponseSchema>;

/** `PUT /admin/users/{id}/password`. */
export const passwordSetResponseSchema = z.object({ id: z.string(), passwordSet: z.literal(true) });
export type PasswordSetResponse = z.infer<typeof passwordSetResponseSchema>;

/** One admin audit row: who changed what, when, the entity before and after (never a secret). */
export const adminAuditEntrySchema = z.object({
  id: z.number(),
  ts: z.number(),
  actor: z.string(),
  /** create | update | remove | import | issue-credential | rotate-credential | revoke-credential | set-password */
  action: z.string(),
  entity: z.string(),
  entityId: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AdminAuditEntry = z.infer<typeof adminAuditEntrySchema>;

/** `GET /admin/audit`: newest first. */
export const adminAuditResponseSchema = z.object({ audit: z.array(adminAuditEntrySchema) });
export type AdminAuditResponse = z.infer<typeof adminAuditResponseSchema>;
