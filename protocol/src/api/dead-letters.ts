import { z } from 'zod/mini';

/** A batch or point that could never be stored, kept to be listed and re-driven (`GET /dead-letters`). */
export const deadLetterSchema = z.object({
  id: z.number(),
  kind: z.enum(['batch', 'point']),
  edge: z.string(),
  /** The batch's seq when it could be read, else null. */
  seq: z.nullable(z.number()),
  /** Stable code: the ProtocolError code for a batch, `field_type_conflict` or `sink_refused` for a point. */
  reason: z.string(),
  detail: z.string(),
  receivedAt: z.number(),
  lastAt: z.number(),
  count: z.number(),
  state: z.enum(['open', 'redriven']),
  redrivenAt: z.nullable(z.number()),
  size: z.number(),
  /** False when its bytes were not kept (the edge's open dead letters were over the cap). */
  bytesKept: z.boolean(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export const deadLettersResponseSchema = z.object({ deadLetters: z.array(deadLetterSchema) });
export type DeadLettersResponse = z.infer<typeof deadLettersResponseSchema>;

/** `GET /dead-letters/:id`: the letter with its bytes, base64. */
export const deadLetterResponseSchema = z.object({
  deadLetter: z.extend(deadLetterSchema, { bytes: z.string() }),
});
export type DeadLetterResponse = z.infer<typeof deadLetterResponseSchema>;

/** `POST /dead-letters/:id/redrive`: the letter after it was stored, and how (`committed`, `duplicate`). */
export const redriveResponseSchema = z.object({ deadLetter: deadLetterSchema, outcome: z.string() });
export type RedriveResponse = z.infer<typeof redriveResponseSchema>;
