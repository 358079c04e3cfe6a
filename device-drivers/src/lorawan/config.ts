import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';
import { parseCidr } from './gateway-registry.js';

const hex = (bytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${what} must be ${bytes} bytes of hex`)
    .transform((s) => s.toLowerCase());

const common = {
  /** Device id used in Readings and events. */
  id: z.string().regex(ID_PATTERN),
  /** DevEUI, 8 bytes hex, as printed on the device (most significant byte first). */
  devEui: hex(8, 'devEui'),
  /** Payload codec that decodes this device's FRMPayload; or `codecProfile` (docs/vendor-guide.md). */
  codec: z.enum(['cayenne', 'wristband', 'lora-pm25']).optional(),
  /** A JavaScript codec profile file, relative to edge.yaml: a new codec without a rebuild. */
  codecProfile: z.string().min(1).optional(),
};

const abpDevice = z.strictObject({
  ...common,
  activation: z.literal('abp'),
  devAddr: hex(4, 'devAddr'),
  nwkSKey: hex(16, 'nwkSKey'),
  appSKey: hex(16, 'appSKey'),
});

const otaaDevice = z.strictObject({
  ...common,
  activation: z.literal('otaa'),
  /** AppEUI (LoRaWAN 1.0.x) a.k.a. JoinEUI; either spelling is accepted. */
  appEui: hex(8, 'appEui').optional(),
  joinEui: hex(8, 'joinEui').optional(),
  appKey: hex(16, 'appKey'),
});

export const lorawanConfigSchema = z.strictObject({
  /** UDP port of the Semtech packet-forwarder protocol; 0 binds an ephemeral port (tests). */
  port: z.number().int().min(0).max(65535).default(1700),
  /** Address to bind: gateways are on the LAN, so all interfaces by default. */
  bind: z.string().default('0.0.0.0'),
  /** Accept PUSH_DATA/PULL_DATA from gateways not listed under `gateways`. */
  allowUnknownGateways: z.boolean().default(false),
  gateways: z
    .array(
      z.strictObject({
        eui: hex(8, 'gateway eui'),
        /**
         * Where this gateway's datagrams may come from: CIDR blocks or addresses. Semtech UDP has
         * no authentication (docs/lorawan.md), so without this anyone who can reach the port can
         * speak for the EUI, and its PULL_DATA becomes the gateway's downlink route.
         */
        allowedSources: z
          .array(
            z.string().refine((c) => parseCidr(c) !== undefined, 'must be a CIDR block or an IP address'),
          )
          .min(1)
          .max(64)
          .optional(),
      }),
    )
    .default([]),
  region: z.enum(['CN470', 'EU868']).default('CN470'),
  /** How long copies of one frame from several gateways are collected before it is handled, ms. */
  dedupWindowMs: z.number().int().min(0).max(5000).default(200),
  /** NetID sent in join-accepts (3 bytes hex); its low 7 bits become the DevAddr's NwkID. */
  netId: hex(3, 'netId').default('000000'),
  /**
   * How long before a receive window a PULL_RESP must leave here for the gateway to schedule it,
   * ms. If that is no longer possible for RX1, RX2 is used; if not for RX2 either, the downlink waits.
   */
  downlinkLeadMs: z.number().int().min(0).max(2000).default(100),
  /** Frames that may wait in one device's downlink queue. */
  maxQueuedDownlinks: z.number().int().min(1).max(256).default(16),
  /**
   * Times a confirmed downlink the device did not acknowledge (no ACK bit in its next uplink) is
   * sent again before it is reported failed (`downlink_not_acked`).
   */
  confirmedDownlinkRetries: z.number().int().min(0).max(8).default(2),
  /** ADR: margin kept above the datarate's demodulation floor, dB (ChirpStack's default is 10). */
  adrInstallationMarginDb: z.number().min(0).max(30).default(10),
  /**
   * How often each device is asked for its battery and link margin (DevStatusReq), ms; 0 asks
   * only when a `dev-status` command says so. ChirpStack's device profiles default to once a day.
   */
  devStatusIntervalMs: z.number().int().min(0).default(0),
  devices: z
    .array(z.discriminatedUnion('activation', [abpDevice, otaaDevice]))
    .default([])
    .superRefine((devices, ctx) => {
      const seen = new Set<string>();
      for (const d of devices) {
        for (const key of [`id:${d.id}`, `devEui:${d.devEui}`]) {
          if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `duplicate device ${key}` });
          seen.add(key);
        }
        if ((d.codec === undefined) === (d.codecProfile === undefined))
          ctx.addIssue({
            code: 'custom',
            message: `device ${d.id}: give exactly one of codec (a built-in codec) and codecProfile (a JavaScript codec profile)`,
          });
        if (d.activation === 'otaa' && d.appEui === undefined && d.joinEui === undefined) {
          ctx.addIssue({ code: 'custom', message: `device ${d.id}: otaa needs appEui (or joinEui)` });
        }
      }
    }),
});

export type LorawanConfig = z.infer<typeof lorawanConfigSchema>;
export type LorawanConfigInput = z.input<typeof lorawanConfigSchema>;
export type LorawanDeviceConfig = LorawanConfig['devices'][number];
