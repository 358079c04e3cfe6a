import { z } from 'zod/mini';
import { valueSchema } from './values.js';

/** A command sent to a device through its edge, and what became of it (`POST /commands`, `GET /commands/:id`). */
export const commandSchema = z.object({
  id: z.string(),
  edge: z.string(),
  device: z.string(),
  action: z.string(),
  params: z.record(z.string(), valueSchema),
  /** Who sent it: the officer's username, or `anonymous` in lab mode (audit trail). */
  actor: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  state: z.enum(['sent', 'ok', 'error']),
  error: z.nullable(z.string()),
  data: z.nullable(z.record(z.string(), valueSchema)),
  completedAt: z.nullable(z.number()),
});
export type CommandRecord = z.infer<typeof commandSchema>;

export const commandResponseSchema = z.object({ command: commandSchema });
export type CommandResponse = z.infer<typeof commandResponseSchema>;
