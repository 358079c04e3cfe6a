import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';

const id = z.string().regex(ID_PATTERN);
/** A secret: a literal, or `${ENV_VAR}` (resolved at start; keep plaintext out of committed configs). */
const secret = z.string().min(1).max(256);
/** GB/T 28181 §4.4 codes are 20 decimal digits. */
const gbId = z.string().regex(/^[0-9]{20}$/);

const cameraAuth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1).max(64), password: secret }),
  /** RFC 7616 digest; the edge offers SHA-256 and MD5 challenges. */
  z.strictObject({ type: z.literal('digest'), username: z.string().min(1).max(64), password: secret }),
  /** HMAC-SHA256 over "{timestamp}.{METHOD} {path}." ‖ body (docs/camera-integration.md). */
  z.strictObject({ type: z.literal('hmac'), secret }),
]);

const cameraConfig = z.strictObject({
  id,
  auth: cameraAuth,
  /** Silence longer than this (no event, heartbeat or keepalive) makes the camera `offline`, ms. */
  heartbeatTimeoutMs: z.number().int().min(100).default(120_000),
  /** The camera's GB/T 28181 device id, when it also registers over SIP. */
  gbDeviceId: gbId.optional(),
  /** SIP digest password for this device; defaults to `sip.password`. */
  gbPassword: secret.optional(),
  /**
   * Channel ids of this device (its cameras and alarm inputs, as its Catalog lists them) whose
   * alarms it may report: a DVR/NVR names the channel in an Alarm's DeviceID (GB/T 28181 §9.4).
   * Listed rather than derived: the standard codes a channel's type, not which device owns it.
   */
  gbChannels: z.array(gbId).max(256).default([]),
});

export const cameraConfigSchema = z.strictObject({
  http: z
    .strictObject({
      /** TCP port for event push; 0 picks a free one (tests). */
      port: z.number().int().min(0).max(65535).default(8088),
      bind: z.string().default('0.0.0.0'),
      /** Realm named in digest challenges. */
      realm: z.string().min(1).max(64).default('village-edge'),
      /** Largest request body (XML/JSON plus snapshot), bytes; larger gets 413. */
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .default(4 * 1024 * 1024),
      /** Largest accepted clock skew for HMAC-signed requests, ms. */
      hmacSkewMs: z.number().int().min(1000).default(300_000),
    })
    .prefault({}),
  sip: z
    .strictObject({
      /** UDP port of the GB/T 28181 SIP server; 0 picks a free one. */
      port: z.number().int().min(0).max(65535).default(5060),
      bind: z.string().default('0.0.0.0'),
      /** SIP domain / realm: the first 10 digits of the server id by GB/T 28181 convention. */
      realm: z.string().min(1).max(64),
      /** This server's 20-digit SIP id. */
      serverId: gbId,
      /** Default device password for REGISTER digest. */
      password: secret,
      /** Registration lifetime granted, s (the device's Expires is capped to this). */
      maxExpiresS: z.number().int().min(60).default(3600),
    })
    .optional(),
  snapshots: z
    .strictObject({
      /** Largest stored snapshot, bytes; a larger one is dropped (the event still goes). */
      maxImageBytes: z
        .number()
        .int()
        .min(1)
        .default(2 * 1024 * 1024),
      /** Total bytes of snapshots kept under dataDir/snapshots; the oldest are deleted first. */
      maxTotalBytes: z
        .number()
        .int()
        .min(1)
        .default(512 * 1024 * 1024),
    })
    .prefault({}),
  /** Severity of intrusion (line crossing, field, region entrance) events. */
  intrusionSeverity: z.enum(['warning', 'critical']).default('warning'),
  cameras: z.array(cameraConfig).min(1),
});

export type CameraConfig = z.infer<typeof cameraConfigSchema>;
export type CameraEntry = z.infer<typeof cameraConfig>;
