import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * A codec's examples file (`<codec>.examples.yaml`), in the style of The Things Network's device
 * repository: each example is an uplink's bytes and exactly what decodeUplink must return. The
 * examples document the payload and are the codec's tests (codecConformance).
 */
const exampleSchema = z.strictObject({
  description: z.string().min(1),
  input: z.strictObject({
    /** The uplink payload, hex (spaces allowed between bytes). */
    bytes: z
      .string()
      .transform((s) => s.replace(/\s+/g, ''))
      .refine((s) => /^([0-9a-fA-F]{2})*$/.test(s), 'must be hex bytes'),
    fPort: z.number().int().min(0).max(255),
  }),
  output: z.strictObject({
    /** Omitted when the example is an error case (codecs return no data with errors). */
    data: z.unknown().optional(),
    errors: z.array(z.string()).default([]),
    warnings: z.array(z.string()).default([]),
  }),
});

export const codecExamplesSchema = z.strictObject({
  examples: z.array(exampleSchema).min(1),
});

export type CodecExample = z.infer<typeof exampleSchema>;

export class CodecExamplesError extends Error {
  override readonly name = 'CodecExamplesError';
  readonly code = 'bad_examples';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** Reads and validates an examples file; errors name the file and the key. */
export function loadCodecExamples(file: string): CodecExample[] {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CodecExamplesError(file, `cannot read: ${(err as Error).message}`);
  }
  const parsed = codecExamplesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CodecExamplesError(file, `${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data.examples;
}
