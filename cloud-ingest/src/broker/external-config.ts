import { z } from 'zod';
import { secretString } from '../sink/influx-config.js';

/** The URL schemes mqtt.js connects with. */
const MQTT_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];

/** Why `url` is not a broker URL, or undefined when it is one. */
function brokerUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL (e.g. mqtt://broker:1884)`;
  }
  if (!MQTT_SCHEMES.includes(parsed.protocol))
    return `${JSON.stringify(url)} is not an MQTT URL: the scheme must be one of ${MQTT_SCHEMES.map((s) => `${s}//`).join(', ')}`;
  if (parsed.hostname === '') return `${JSON.stringify(url)} names no host`;
  return undefined;
}

/**
 * `mqtt.url`: one broker URL or a non-empty list of distinct ones; always a list once parsed. An
 * error names the entry (`mqtt.url.1`) when a list was given.
 */
const brokerUrlsSchema = z
  .union([z.string(), z.array(z.string())], {
    error: 'must be a broker URL (mqtt://host:port) or a list of them',
  })
  .transform((given, ctx) => {
    const urls = typeof given === 'string' ? [given] : given;
    if (urls.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one broker URL' });
    urls.forEach((url, i) => {
      const path = typeof given === 'string' ? [] : [i];
      const problem = brokerUrlProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path });
      else if (urls.indexOf(url) !== i)
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)} is listed twice`, path });
    });
    return urls;
  });

/**
 * The MQTT client id of the connection to each broker of `urls`, in order. One broker: the id as
 * configured (a worker upgraded from a single url keeps its session). Several: suffixed `-b1`,
 * `-b2`, ..., so the sessions never collide where the brokers share session state (a cluster, a
 * bridge). Keep the list's order: an entry that moves gets a new session (its unacked messages
 * come back as the edges' resends, never lost).
 */
export function brokerClientIds(clientId: string, urls: readonly string[]): string[] {
  return urls.length === 1 ? [clientId] : urls.map((_, i) => `${clientId}-b${i + 1}`);
}

/** A broker's name in logs, /health and metrics: its URL without credentials, path or query. */
export function brokerLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/**
 * `mqtt.mode: external`: the cloud does not run its embedded broker; it consumes an external
 * MQTT 5 broker (Mosquitto, EMQX) with a shared subscription, so several ingest workers split the
 * load. Edge credentials and topic ACLs are then the broker's job (see examples/mosquitto.conf).
 */
export const externalMqttSchema = z.strictObject({
  mode: z.literal('external'),
  /**
   * Broker URL, e.g. mqtt://broker:1884 or mqtts://broker:8883, or a list of them: the worker then
   * consumes every broker of the list (edges spread over them, or fail over between them), each
   * with its own connection and session, and acks each batch on the broker it came from.
   * Always a list once parsed.
   */
  url: brokerUrlsSchema,
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
   * With several brokers, the connection to the n-th of `url` uses `<clientId>-b<n>` (brokerClientIds).
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
