import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';

export const NBIOT_CODECS = ['smoke-detector', 'well-cover', 'wristband', 'water-meter'] as const;
export type NbiotCodecName = (typeof NBIOT_CODECS)[number];

const deviceConfig = z.strictObject({
  /** Device id used in readings and events. */
  id: z.string().regex(ID_PATTERN),
  /** 15-digit IMEI; the device posts to `/t/{imei}`. */
  imei: z.string().regex(/^[0-9]{15}$/),
  /** HMAC key: 32..128 hex characters (16..64 bytes), or `${ENV_VAR}` naming a variable that holds them. */
  key: z.string().regex(/^([0-9a-fA-F]{32,128}|\$\{[A-Za-z_][A-Za-z0-9_]*\})$/),
  /** A built-in codec; or `codecProfile`, a JavaScript codec profile file relative to edge.yaml (docs/vendor-guide.md). */
  codec: z.enum(NBIOT_CODECS).optional(),
  codecProfile: z.string().min(1).optional(),
});

export const nbiotConfigSchema = z.strictObject({
  /** UDP port of the CoAP server; 0 picks a free port (tests), RFC 7252 default 5683. */
  port: z.number().int().min(0).max(65535).default(5683),
  /** Address to bind. */
  bind: z.string().default('0.0.0.0'),
  /** Largest accepted request body, bytes; larger gets 4.13. NB-IoT uplinks are tens of bytes. */
  maxBodyBytes: z.number().int().min(64).max(1024).default(512),
  /** How long a queued command may wait for the device to wake and confirm it, ms (default 6 h). */
  commandTimeoutMs: z
    .number()
    .int()
    .min(1)
    .default(6 * 3600_000),
  /** Commands waiting per device; more are refused. */
  maxQueuedCommands: z.number().int().min(1).max(256).default(16),
  devices: z
    .array(deviceConfig)
    .min(1)
    .superRefine((devices, ctx) => {
      devices.forEach((d, i) => {
        if ((d.codec === undefined) === (d.codecProfile === undefined))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'codec'],
            message:
              'give exactly one of codec (a built-in codec) and codecProfile (a JavaScript codec profile)',
          });
      });
    }),
});

export type NbiotConfig = z.infer<typeof nbiotConfigSchema>;
export type NbiotDeviceConfig = z.infer<typeof deviceConfig>;
