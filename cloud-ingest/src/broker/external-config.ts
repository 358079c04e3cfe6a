import { z } from 'zod';
import { secretString } from '../sink/influx-config.js';

/**
 * `mqtt.mode: external`: the cloud does not run its embedded broker; it consumes an external
 * MQTT 5 broker (Mosquitto, EMQX) with a shared subscription, so several ingest workers split the
 * load. Edge credentials and topic ACLs are then the broker's job (see examples/mosquitto.conf).
 */
export const externalMqttSchema = z.strictObject({
  mode: z.literal('external'),
  /** Broker URL, e.g. mqtt://broker:1883 or mqtts://broker:8883. */
  url: z.string().min(1),
  /** The ingest's own broker account (the ACL lets it read every edge's up/ and write every down/). */
  username: z.string().min(1).default('ingest'),
  /** `${ENV}` reference recommended. */
  password: secretString.optional(),
  /** Shared-subscription group: `$share/<group>/v1/e/+/up/batch`. Workers of one cloud use the same group. */
  group: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('ingest'),
  /**
   * MQTT client id; must differ per worker and stay the same across its restarts (its session
   * keeps the unacked messages). Default: `village-ingest-<hostname>-<pid>`; set it in production.
   */
  clientId: z.string().min(1).optional(),
  /**
   * Messages the broker may have in flight to this worker before it PUBACKs them (MQTT 5 Receive
   * Maximum). The worker handles one at a time; a small window keeps memory bounded and leaves the
   * rest on the broker, where other workers can take them.
   */
  receiveMaximum: z.number().int().min(1).max(65535).default(4),
  /** Session kept on the broker after a disconnect, s (unacked messages are redelivered on return). */
  sessionExpiryS: z.number().int().min(0).default(3600),
  /** Largest packet accepted, bytes (MQTT 5 Maximum Packet Size). */
  maxPacketBytes: z.number().int().min(1024).optional(),
  keepaliveS: z.number().int().min(5).default(30),
});

export type ExternalMqttConfig = z.infer<typeof externalMqttSchema>;
