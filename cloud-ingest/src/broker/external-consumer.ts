import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { type ExternalMqttConfig, brokerLabel } from './external-config.js';

/** The up/ channels the ingest consumes; each gets a shared subscription of the worker group. */
export const INGEST_CHANNELS = ['batch', 'status', 'cmd-result'] as const;

export interface ExternalConsumerOptions {
  config: ExternalMqttConfig;
  /** This connection's broker (one of config.url) and its client id (external-config.ts brokerClientIds). */
  url: string;
  clientId: string;
  log: Logger;
  /** Handles one message; resolves when it is done (committed and acked, or refused). Never rejects. */
  handle(topic: string, payload: Buffer): Promise<void>;
  /**
   * Several hosts, each with its own cloud.db (store.kind postgres): `up/status` without `$share`,
   * so every host gets every (retained) birth and learns each edge's devices and their kinds (the
   * InfluxDB measurement) itself, and resends its own pending commands at a birth.
   */
  statusToEveryWorker?: boolean;
  /** Called with true once connected and subscribed, with false when that connection is lost. */
  onUp?(up: boolean): void;
}

export interface ExternalConsumer {
  /** The broker's name in logs, /health and metrics (external-config.ts brokerLabel). */
  readonly broker: string;
  /** Resolves when first connected and subscribed; never rejects (the client keeps retrying until closed). */
  readonly connected: Promise<void>;
  /** Whether the connection is up now. */
  isUp(): boolean;
  /** Publishes QoS 1 (acks, commands); resolves once queued in the client (see below). */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** Disconnects; the session (and any unacked message) stays on the broker for sessionExpiryS. */
  close(): Promise<void>;
}

/** `$share/<group>/v1/e/+/up/<channel>` (MQTT 5 §4.8.2). */
export const sharedFilter = (group: string, channel: string) => `$share/${group}/v1/e/+/up/${channel}`;

/**
 * An ingest worker's connection to one external MQTT 5 broker. Messages are handled one at a time
 * and PUBACKed only when handled (mqtt.js calls `handleMessage` serially; the persistent session,
 * clean start off, makes the broker redeliver what this worker took but never PUBACKed when it
 * reconnects). Receive Maximum bounds what the broker pushes ahead, so memory stays flat and
 * queued messages stay with the broker for the other workers of the group.
 * A message that fails is still PUBACKed: the edge's own resend (no cloud ack came) is the retry.
 * Returns at once: a broker that does not answer is retried every second until `close`, and
 * `connected` resolves when it first answers (external-brokers.ts waits for the first of several).
 */
export function startExternalConsumer(o: ExternalConsumerOptions): ExternalConsumer {
  const { config, log, url, clientId } = o;
  const broker = brokerLabel(url);
  const client: MqttClient = mqtt.connect(url, {
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
        log.error(
          { err: err.message, topic: packet.topic, broker },
          'external broker message handler failed',
        );
        done();
      },
    );
  };

  let up = false;
  let markConnected!: () => void;
  const connected = new Promise<void>((resolve) => {
    markConnected = resolve;
  });
  // Up once the group's subscriptions are granted: a broker whose SUBACK has not come yet would
  // drop what its edges publish (no subscriber), so it is not counted as consumed before that.
  const markUp = () => {
    if (!client.connected || up) return;
    up = true;
    o.onUp?.(true);
    markConnected();
  };
  const subscribe = async () => {
    const filters = INGEST_CHANNELS.map((c) =>
      c === 'status' && o.statusToEveryWorker ? 'v1/e/+/up/status' : sharedFilter(config.group, c),
    );
    try {
      await client.subscribeAsync(filters, { qos: 1 });
      log.info({ filters, broker }, 'subscribed to the external broker');
      markUp();
    } catch (err) {
      // A connection lost before its SUBACK is retried with the next CONNACK; a refusal is the ACL's.
      if (!client.connected) {
        log.warn({ broker }, 'external broker connection lost before the subscriptions were granted');
        return;
      }
      log.error(
        { err: (err as Error).message, filters, broker },
        'external broker refused the ingest subscriptions',
      );
    }
  };
  // A broker that is down is retried every second: its failures are logged once per outage
  // (warn), the repeats at debug, so a dead broker does not flood the log.
  let failuresLogged = 0;
  client.on('connect', (connack) => {
    // mqtt.js writes a PUBLISH (an ack) and a PUBACK in small writes: with Nagle's algorithm the
    // later ones wait for the broker's delayed ACK of the first, about 40 ms on Linux.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    failuresLogged = 0;
    log.info(
      { broker, clientId, sessionPresent: connack.sessionPresent },
      'connected to the external broker',
    );
    // A resumed session already holds the group's subscriptions, and its queued messages come
    // before the SUBACK: mqtt.js reads no SUBACK while a handleMessage is pending, and the ingest
    // handles nothing before a broker is up, so waiting for the SUBACK here was a deadlock (a
    // restarted host hung until its keepalive ran out).
    if (connack.sessionPresent) markUp();
    void subscribe();
  });
  client.on('close', () => {
    if (!up) return;
    up = false;
    log.warn({ broker }, 'external broker connection closed; reconnecting');
    o.onUp?.(false);
  });
  client.on('error', (err) => {
    const level = failuresLogged++ === 0 ? 'warn' : 'debug';
    log[level]({ err: err.message, broker }, 'external broker error');
  });

  return {
    broker,
    connected,
    isUp: () => up,
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
          if (err) log.warn({ err: err.message, topic, broker }, 'publish to the external broker failed');
        },
      );
    },
    async close() {
      // A broker that is down would never answer a graceful DISCONNECT's outgoing queue.
      await client.endAsync(!client.connected);
    },
  };
}
