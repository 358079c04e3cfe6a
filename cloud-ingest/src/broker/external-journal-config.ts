import { z } from 'zod';

/**
 * `ingest.journal:` of cloud.yaml — the committed-batch journal that lets one rules worker see the
 * batches every ingest worker committed (docs/scaling.md "Rules with several workers"). Applies
 * only with `mqtt.mode: external`; the embedded single process feeds its rules in process.
 */
export const journalSectionSchema = z
  .strictObject({
    /**
     * Write every committed batch to `committed_journal` (and, on a worker with rules enabled,
     * feed the rules from it). Default: on in external mode. Turn it off only when no worker of
     * the cloud runs rules, or the table grows without bound (nobody prunes it).
     */
    enabled: z.boolean().optional(),
    /** How often the rules worker looks for new journal rows when it found none, ms. */
    pollMs: z.number().int().min(1).max(10_000).default(50),
    /** Journal rows fed to the rules per read (bounds memory and one read's time). */
    rowsPerPoll: z.number().int().min(1).max(100_000).default(200),
    /**
     * The rules lease: a rules worker that has not renewed it for this long is taken for dead and
     * a standby rules worker takes over, ms. Renewed every leaseMs / 3.
     */
    leaseMs: z.number().int().min(300).max(600_000).default(15_000),
  })
  // Left out of the parsed config when absent (`ingest:` keeps its shape); readers take JOURNAL_DEFAULTS.
  .optional();

export type JournalSection = NonNullable<z.infer<typeof journalSectionSchema>>;

export const JOURNAL_DEFAULTS: JournalSection = journalSectionSchema.parse({})!;
