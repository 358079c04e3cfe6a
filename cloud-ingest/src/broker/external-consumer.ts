import { hostname } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ExternalMqttConfig } from './external-config.js';

/** The up/ channels the ingest consumes; each gets a shared subscription of the worker group. */
export const INGEST_CHANNELS = ['batch', 'status', 'cmd-result'] as const;

export interface ExternalConsumerOptions {
  config: ExternalMqttConfig;
  log: Logger;
  /** Handles one message; resolves when it is done (committed and acked, or refused). Never rejects. */
  handle(topic: string, payload: Buffer): Promise<void>;
  /**
   * Several hosts, each with its own cloud.db (store.kind postgres): `up/status` without `$share`,
   * so every host gets every (retained) birth and learns each edge's devices and their kinds (the
   * InfluxDB measurement) itself, and resends its own pending commands at a birth.
   */
  statusToEveryWorker?: boolean;
}

export interface ExternalConsumer {
  /** Publishes QoS 1 (acks, commands); resolves once queued in the client (see below). */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** Disconnects; the session (and any unacked message) stays on the broker for sessionExpiryS. */
  close(): Promise<void>;
}

/** `$share/<group>/v1/e/+/up/<channel>` (MQTT 5 §4.8.2). */
export const sharedFilter = (group: string, channel: string) => `$share/${group}/v1/e/+/up/${channel}`;

/**
 * An ingest worker's connection to an external MQTT 5 broker. Messages are handled one at a time
 * and PUBACKed only when handled (mqtt.js calls `handleMessage` serially; the persistent session,
 * clean start off, makes the broker redeliver what this worker took but never PUBACKed when it
 * reconnects). Receive Maximum bounds what the broker pushes ahead, so memory stays flat and
 * queued messages stay with the broker for the other workers of the group.
 * A message that fails is still PUBACKed: the edge's own resend (no cloud ack came) is the retry.
 */
export async function startExternalConsumer(o: ExternalConsumerOptions): Promise<ExternalConsumer> {
  const { config, log } = o;
  const clientId = config.clientId ?? `village-ingest-${hostname()}-${process.pid}`;
  const client: MqttClient = mqtt.connect(config.url, {
    protocolVersion: 5,
    clientId,
    username: config.username,
    password: config.password,
    clean: false,
    keepalive: config.keepaliveS,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    properties: {
      sessionExpiryInterval: config.sessionExpiryS,
      receiveMaximum: config.receiveMaximum,
      ...(config.maxPacketBytes === undefined ? {} : { maximumPacketSize: config.maxPacketBytes }),
    },
  });
  // Must be set before CONNACK: messages of a resumed session arrive right after it.
  client.handleMessage = (packet, done) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    o.handle(packet.topic, payload).then(
      () => done(),
      (err: Error) => {
        log.error({ err: err.message, topic: packet.topic }, 'external broker message handler failed');
        done();
      },
    );
  };

  const subscribe = async () => {
    const filters = INGEST_CHANNELS.map((c) =>
      c === 'status' && o.statusToEveryWorker ? 'v1/e/+/up/status' : sharedFilter(config.group, c),
    );
    try {
      await client.subscribeAsync(filters, { qos: 1 });
      log.info({ filters }, 'subscribed to the external broker');
    } catch (err) {
      log.error({ err: (err as Error).message, filters }, 'external broker refused the ingest subscriptions');
    }
  };
  client.on('connect', (connack) => {
    log.info(
      { url: config.url, clientId, sessionPresent: connack.sessionPresent },
      'connected to the external broker',
    );
    void subscribe();
  });
  client.on('close', () => log.warn({ url: config.url }, 'external broker connection closed; reconnecting'));
  client.on('error', (err) => log.warn({ err: err.message }, 'external broker error'));

  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`no connection to the external broker ${config.url} within 30 s`)),
      30_000,
    );
    client.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
  }).catch(async (err: Error) => {
    await client.endAsync(true);
    throw err;
  });

  return {
    async publish(topic, payload) {
      // Not waiting for the broker's PUBACK: mqtt.js reads no packet while a handleMessage is
      // pending, so the PUBACK of an ack published from inside the handler would never be read
      // (deadlock). The message sits in mqtt.js's outgoing store and is resent after a
      // reconnect; if this worker dies first, the edge resends the batch and gets the ack again.
      client.publish(
        topic,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        { qos: 1 },
        (err) => {
          if (err) log.warn({ err: err.message, topic }, 'publish to the external broker failed');
        },
      );
    },
    async close() {
      await client.endAsync();
    },
  };
}
