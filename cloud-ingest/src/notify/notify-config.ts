import { z } from 'zod';

/**
 * The optional `notify:` section of cloud.yaml: where incident notifications go. Every
 * notification is also published on the embedded broker (`v1/notify/{village}`) unless
 * `mqtt.enabled` is false; edges cannot subscribe there (broker/edge-acl.ts).
 */
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** A secret given inline, or `${VAR}` read from the environment at start-up. */
const secret = z
  .string()
  .min(1)
  .transform((s, ctx) => {
    const m = ENV_REF.exec(s);
    if (!m) return s;
    const v = process.env[m[1]!];
    if (v === undefined || v === '') {
      ctx.addIssue({ code: 'custom', message: `environment variable ${m[1]} is not set` });
      return z.NEVER;
    }
    return v;
  });

const webhookSchema = z.strictObject({
  /** Names the webhook in the delivery log. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be an id'),
  url: z.url({ protocol: /^https?$/ }),
  /** HMAC-SHA256 key; the receiver checks `X-Village-Signature: sha256=<hex>` over the raw body. */
  secret,
  /** Only notifications to these levels; default every level. */
  levels: z.array(z.enum(['village', 'town', 'county'])).optional(),
  /** Attempts before a delivery is given up as failed. Default 8. */
  maxAttempts: z.number().int().min(1).max(100).default(8),
  /** Wait before the first retry, ms; doubles per attempt up to maxBackoffMs. Default 1000. */
  backoffMs: z.number().int().min(1).default(1_000),
  /** Longest wait between attempts, ms. Default 300 000. */
  maxBackoffMs: z.number().int().min(1).default(300_000),
  /** One attempt is abandoned after this long, ms. Default 10 000. */
  timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
});

export const notifySectionSchema = z
  .strictObject({
    mqtt: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Topic prefix; the village id is appended. */
        topicPrefix: z
          .string()
          .regex(/^[A-Za-z0-9/_-]+$/)
          .default('v1/notify'),
      })
      .prefault({}),
    webhooks: z
      .array(webhookSchema)
      .default([])
      .refine((w) => new Set(w.map((x) => x.id)).size === w.length, 'webhook ids must be unique'),
  })
  .prefault({});

export type NotifySection = z.infer<typeof notifySectionSchema>;
export type WebhookConfig = NotifySection['webhooks'][number];
