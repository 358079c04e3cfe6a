import {
  type Command,
  type CommandResult,
  ProtocolError,
  type Status,
  decodeAck,
  decodeCommand,
  encodeJson,
  parseTopic,
  topics,
} from '@village/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { reportRefusals } from './ack-refusals.js';
import type { Logger } from './log.js';
import type { EdgeMetrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import type { UplinkTlsOptions } from './uplink-tls.js';

/** How long a stop waits for the broker to take the offline status, ms. */
const CLOSE_WAIT_MS = 2_000;

export interface UplinkOptions {
  url: string;
  edgeId: string;
  password: string;
  /** Unacked batches in flight at once. */
  window: number;
  /** Resend a batch (same seq, same bytes) when no ack came within this many ms. */
  ackTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  keepaliveS: number;
  /** CA and client certificate for mqtts:// (uplink-tls.ts). */
  tls?: UplinkTlsOptions | undefined;
  boot: number;
  birth: () => Status;
  outbox: Outbox;
  log: Logger;
  metrics: EdgeMetrics;
  onCommand: (cmd: Command) => Promise<CommandResult>;
  now?: () => number;
}

export interface Uplink {
  readonly connected: boolean;
  /** Sends what the window allows. Call after batches were cut. */
  pump(): void;
  /** Graceful stop: publishes an offline status (the will covers the ungraceful case). */
  close(): Promise<void>;
}

/**
 * MQTT uplink (QoS 1). The broker's PUBACK only means the broker has it (Mosquitto may still drop
 * it for a slow subscriber), so a batch leaves the outbox only on the cloud's own ack naming its seq.
 */
export function startUplink(o: UplinkOptions): Uplink {
  const now = o.now ?? Date.now;
  const inflight = new Map<number, { sentAt: number; firstSentAt: number }>();
  let backoff = o.reconnectMinMs;
  let closing = false;

  const death: Status = { state: 'offline', edgeId: o.edgeId, boot: o.boot };
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: `edge-${o.edgeId}`,
    username: o.edgeId,
    password: o.password,
    protocolVersion: 4,
    clean: true,
    keepalive: o.keepaliveS,
    reconnectPeriod: o.reconnectMinMs,
    connectTimeout: 10_000,
    will: { topic: topics.status(o.edgeId), payload: Buffer.from(encodeJson(death)), qos: 1, retain: true },
    ...o.tls,
  });

  client.on('connect', () => {
    backoff = o.reconnectMinMs;
    client.options.reconnectPeriod = backoff;
    o.metrics.uplinkConnected.set(1);
    o.metrics.uplinkConnects.inc();
    o.log.info({ url: o.url, boot: o.boot }, 'uplink connected');
    client.publish(topics.status(o.edgeId), Buffer.from(encodeJson(o.birth())), { qos: 1, retain: true });
    client.subscribe([topics.ack(o.edgeId), topics.cmd(o.edgeId)], { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) {
        o.metrics.uplinkErrors.inc({ reason: 'subscribe' });
        o.log.error({ err: err?.message, granted }, 'subscription to acks refused');
        return;
      }
      pump();
    });
  });

  client.on('close', () => {
    if (inflight.size > 0)
      o.log.info({ inflight: inflight.size }, 'uplink closed; in-flight batches will be resent');
    // Whatever was in flight may or may not have arrived: resend it all after reconnecting.
    inflight.clear();
    o.metrics.inflight.set(0);
    o.metrics.uplinkConnected.set(0);
    if (closing) return;
    // mqtt.js reads reconnectPeriod when it schedules the next attempt: exponential backoff with jitter.
    client.options.reconnectPeriod = Math.round(backoff * (0.75 + Math.random() * 0.5));
    backoff = Math.min(backoff * 2, o.reconnectMaxMs);
  });

  client.on('error', (err) => {
    o.metrics.uplinkErrors.inc({ reason: (err as { code?: string | number }).code?.toString() ?? 'error' });
    o.log.warn({ err: err.message }, 'uplink error');
  });

  client.on('message', (topic, payload) => {
    try {
      const t = parseTopic(topic);
      if (t.direction !== 'down' || t.edgeId !== o.edgeId) return;
      if (t.channel === 'ack') handleAck(payload);
      else handleCommand(payload);
    } catch (err) {
      o.metrics.uplinkErrors.inc({ reason: err instanceof ProtocolError ? err.code : 'message' });
      o.log.warn({ topic, err: (err as Error).message }, 'bad message from the cloud');
    }
  });

  function handleAck(payload: Buffer): void {
    const ack = decodeAck(payload);
    const t = now();
    for (const seq of ack.acked) {
      const f = inflight.get(seq);
      if (f) o.metrics.ackLatency.observe((t - f.firstSentAt) / 1000);
      inflight.delete(seq);
    }
    const deleted = o.outbox.ack(ack.acked);
    o.metrics.batchesAcked.inc(deleted);
    reportRefusals(ack.refused, o.metrics, o.log);
    for (const r of ack.rejected) {
      inflight.delete(r.seq);
      o.outbox.reject(r.seq, r.reason);
      o.metrics.batchesRejected.inc();
      o.log.error({ seq: r.seq, reason: r.reason }, 'cloud rejected a batch; dropped and reported as a gap');
    }
    o.metrics.inflight.set(inflight.size);
    pump();
  }

  function handleCommand(payload: Buffer): void {
    const cmd = decodeCommand(payload);
    o.onCommand(cmd).then((result) => {
      if (client.connected)
        client.publish(topics.cmdResult(o.edgeId), Buffer.from(encodeJson(result)), { qos: 1 });
    });
  }

  function publish(seq: number, bytes: Uint8Array): void {
    client.publish(
      topics.batch(o.edgeId),
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { qos: 1 },
      (err) => {
        if (err) o.metrics.uplinkErrors.inc({ reason: 'publish' });
      },
    );
  }

  function pump(): void {
    if (!client.connected || closing) return;
    const room = o.window - inflight.size;
    if (room <= 0) return;
    const t = now();
    for (const b of o.outbox.next(room, new Set(inflight.keys()))) {
      inflight.set(b.seq, { sentAt: t, firstSentAt: t });
      o.metrics.batchesSent.inc();
      o.metrics.bytesSent.inc(b.bytes.length);
      o.metrics.readingsSent.inc(b.readings);
      publish(b.seq, b.bytes);
    }
    o.metrics.inflight.set(inflight.size);
  }

  // Resend what the cloud has not acked in time: same seq, same bytes (the cloud drops duplicates).
  const retry = setInterval(
    () => {
      if (!client.connected) return;
      const t = now();
      const late = [...inflight].filter(([, f]) => t - f.sentAt >= o.ackTimeoutMs).map(([seq]) => seq);
      if (late.length === 0) return;
      for (const seq of late) {
        const b = o.outbox.read(seq);
        if (!b) {
          inflight.delete(seq); // acked or dropped meanwhile
          continue;
        }
        inflight.get(seq)!.sentAt = t;
        o.metrics.batchesRetried.inc();
        publish(seq, b.bytes);
      }
      o.log.warn({ seqs: late }, 'ack timeout; batches resent');
    },
    Math.max(50, Math.min(1_000, o.ackTimeoutMs / 4)),
  );

  return {
    get connected() {
      return client.connected;
    },
    pump,
    async close() {
      closing = true;
      clearInterval(retry);
      if (client.connected) {
        // Bounded: a broker that vanished at the same moment never sends the PUBACK, and a stop
        // must not hang on it (the will covers the death message then).
        const published = client
          .publishAsync(topics.status(o.edgeId), Buffer.from(encodeJson(death)), { qos: 1, retain: true })
          .catch(() => {});
        await Promise.race([published, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
      }
      // Forced: whatever mqtt.js still holds in flight is also in the outbox and will be resent.
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    },
  };
}
