import { z } from 'zod/mini';

/** Every refused call answers `{ error: { code, message } }` with a 4xx or 5xx status (docs/api.md). */
export const apiErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;
