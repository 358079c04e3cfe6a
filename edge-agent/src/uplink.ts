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
import type { Logger } from '@village/service-kit';
import { MqttClient } from 'mqtt';
import { reportRefusals } from './ack-refusals.js';
import type { ClockOffsetMonitor } from './clock-offset.js';
import type { EdgeMetrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import {
  type ResendTimer,
  firstResendTimer,
  firstTimeoutMs,
  freshAckRtt,
  nextResendTimer,
  observeAckRtt,
} from './resend-backoff.js';
import { type Broker, openBrokerStream, parseBroker } from './uplink-brokers.js';
import type { UplinkTlsOptions } from './uplink-tls.js';

/** How long a stop waits for the broker to take the offline status, ms. */
const CLOSE_WAIT_MS = 2_000;
/** At most one log line per this many ms about acks that were ignored (a forger must not flood the log). */
const IGNORED_ACK_LOG_MS = 10_000;

/**
 * Where the uplink stands. `unauthorized` (the broker refused the credentials) and `unreachable`
 * (no broker answered) make /health answer 503; the uplink retries both, with backoff, forever.
 */
export type UplinkState = 'connecting' | 'connected' | 'unauthorized' | 'unreachable';
export const UPLINK_STATES: readonly UplinkState[] = [
  'connecting',
  'connected',
  'unauthorized',
  'unreachable',
];

/** CONNACK codes that mean "your credentials are not accepted": 3.1.1 (4, 5) and 5.0 (134, 135). */
const REFUSED_CREDENTIALS = new Set([4, 5, 134, 135]);

export interface UplinkOptions {
  /** The brokers, in order (`cloud.url` or `cloud.urls`); each attempt goes to the next, round robin. */
  urls: readonly string[];
  edgeId: string;
  password: string;
  /** Unacked batches in flight at once. */
  window: number;
  /** Resend a batch (same seq, same bytes) when no ack came within this many ms (resend-backoff.ts). */
  ackTimeoutMs: number;
  /** Each resend of a batch doubles its timeout, up to this many ms. */
  ackTimeoutMaxMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  keepaliveS: number;
  /** CA and client certificate for every mqtts:// broker (uplink-tls.ts). */
  tls?: UplinkTlsOptions | undefined;
  boot: number;
  /** The outbox's epoch: acks naming another epoch are ignored. */
  epoch: string;
  birth: () => Extract<Status, { state: 'online' }>;
  /** The edge's state report (Status `report`), sent right after each birth; absent = none. */
  stateReport?: () => Status;
  outbox: Outbox;
  log: Logger;
  metrics: EdgeMetrics;
  onCommand: (cmd: Command) => Promise<CommandResult>;
  /** Fed with each ack that carries the cloud's time. */
  clock?: ClockOffsetMonitor;
  now?: () => number;
}

export interface Uplink {
  readonly connected: boolean;
  readonly state: UplinkState;
  /** The broker of the session now up (label, no credentials); undefined while disconnected. */
  readonly broker: string | undefined;
  /** Every broker of the list, in order, labelled alike. */
  readonly brokers: readonly string[];
  /** Sends what the window allows. Call after batches were cut. */
  pump(): void;
  /** Publishes the state report now (not retained), when connected. */
  publishState(): void;
  /** Graceful stop: publishes an offline status (the will covers the ungraceful case). */
  close(): Promise<void>;
}

/**
 * MQTT uplink (QoS 1). The broker's PUBACK only means the broker has it (Mosquitto may still drop
 * it for a slow subscriber), so a batch leaves the outbox only on the cloud's own ack naming its seq.
 */
export function startUplink(o: UplinkOptions): Uplink {
  const now = o.now ?? Date.now;
  const inflight = new Map<number, { sentAt: number; firstSentAt: number; resend: ResendTimer }>();
  let backoff = o.reconnectMinMs;
  // The ack round trip, for the first resend timeout of each batch (resend-backoff.ts).
  let ackRtt = freshAckRtt();
  let closing = false;
  let state: UplinkState = 'connecting';
  let lastIgnoredLog = Number.NEGATIVE_INFINITY;
  const setState = (s: UplinkState) => {
    state = s;
    for (const x of UPLINK_STATES) o.metrics.uplinkState.set({ state: x }, x === s ? 1 : 0);
  };
  setState('connecting');

  const brokers: Broker[] = o.urls.map(parseBroker);
  /** The broker the latest attempt dialled, and the one whose session is up (undefined while down). */
  let dialled = -1;
  let current: Broker | undefined;
  let lastConnected: Broker | undefined;
  const setBroker = (b: Broker | undefined) => {
    current = b;
    for (const x of brokers) o.metrics.uplinkBroker.set({ url: x.label }, x === b ? 1 : 0);
  };
  setBroker(undefined);

  // BD_SEQ (protocol types.ts): every connection attempt is a new session number of this boot, and
  // the session's will (set on the client before its CONNECT is built) and birth both name it, so
  // the will a broker publishes late, after the edge moved to another broker, is seen as stale.
  let bdSeq = 0;
  const death = (): Status => ({
    state: 'offline',
    edgeId: o.edgeId,
    boot: o.boot,
    ...epochField(o.epoch),
    bdSeq,
  });
  // Failover: one mqtt.js client whose stream builder dials the next broker of the list on every
  // attempt (the first, and each reconnect after a failed attempt or a lost session), so the
  // backoff below spans the whole list and a lost broker costs one reconnect period. Not mqtt.js's
  // own `servers` option: it keeps the TLS servername of the first host for all of them and does
  // not say which broker an attempt went to. Sessions are clean on every broker (nothing on a
  // broker is needed again: the outbox holds every unacked batch), and the subscriptions are made
  // by the connect handler on each session (`resubscribe: false`, one owner), before the window is
  // resent. mqtt.js replays the publishes the old broker never PUBACKed before it emits `connect`:
  // duplicates of outbox batches, which the cloud drops and acks like any resend.
  const client = new MqttClient(
    (c) => {
      dialled = (dialled + 1) % brokers.length;
      bdSeq += 1;
      c.options.will = { ...c.options.will!, payload: Buffer.from(encodeJson(death())) };
      return openBrokerStream(brokers[dialled]!, o.tls);
    },
    {
      clientId: `edge-${o.edgeId}`,
      username: o.edgeId,
      password: o.password,
      protocolVersion: 4,
      clean: true,
      keepalive: o.keepaliveS,
      reconnectPeriod: o.reconnectMinMs,
      connectTimeout: 10_000,
      // A refused CONNECT (wrong password, edge not yet in cloud.yaml) is retried like any other
      // failure: fixing the cloud must be enough, with no restart of the edge.
      reconnectOnConnackError: true,
      resubscribe: false,
      will: {
        topic: topics.status(o.edgeId),
        payload: Buffer.from(encodeJson(death())),
        qos: 1,
        retain: true,
      },
    },
  );

  client.on('connect', () => {
    // mqtt.js writes a PUBLISH in several small writes: with Nagle's algorithm the later ones wait
    // for the broker's delayed ACK of the first (about 40 ms on Linux) on every batch.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    setState('connected');
    backoff = o.reconnectMinMs;
    client.options.reconnectPeriod = backoff;
    o.metrics.uplinkConnected.set(1);
    o.metrics.uplinkConnects.inc();
    const broker = brokers[dialled]!;
    setBroker(broker);
    if (lastConnected !== undefined && lastConnected !== broker) {
      o.metrics.uplinkFailovers.inc();
      o.log.warn(
        { from: lastConnected.label, to: broker.label },
        'uplink failed over to another broker; the in-flight window is resent there',
      );
    }
    lastConnected = broker;
    o.log.info({ url: broker.label, boot: o.boot }, 'uplink connected');
    client.publish(topics.status(o.edgeId), Buffer.from(encodeJson({ ...o.birth(), bdSeq })), {
      qos: 1,
      retain: true,
    });
    // Before the backlog drains: the cloud sees how far behind the edge was while it was away.
    publishState();
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
    if (current !== undefined && !closing) {
      o.log.warn(
        { url: current.label, inflight: inflight.size, next: brokers[(dialled + 1) % brokers.length]!.label },
        'uplink lost its broker; in-flight batches will be resent on the next session',
      );
    }
    setBroker(undefined);
    // Whatever was in flight may or may not have arrived: resend it all after reconnecting.
    inflight.clear();
    o.metrics.inflight.set(0);
    o.metrics.uplinkConnected.set(0);
    if (closing) return;
    // A refusal stays the reason until the next attempt says otherwise; a drop is "connecting" until an attempt fails.
    if (state === 'connected') setState('connecting');
    // mqtt.js reads reconnectPeriod when it schedules the next attempt: exponential backoff with jitter.
    client.options.reconnectPeriod = Math.round(backoff * (0.75 + Math.random() * 0.5));
    backoff = Math.min(backoff * 2, o.reconnectMaxMs);
  });

  client.on('error', (err) => {
    const code = (err as { code?: string | number }).code;
    o.metrics.uplinkErrors.inc({ reason: code?.toString() ?? 'error' });
    if (typeof code === 'number' && REFUSED_CREDENTIALS.has(code)) {
      setState('unauthorized');
      o.metrics.uplinkRefusals.inc({ reason: 'unauthorized' });
      o.log.error(
        { err: err.message, retryInMs: backoff },
        'cloud refused the edge credentials; retrying with backoff',
      );
      return;
    }
    // Not refused, and not while a session is up: no broker answered (refused, timed out, reset).
    if (state !== 'connected') setState('unreachable');
    o.log.warn({ err: err.message, url: brokers[dialled]?.label }, 'uplink error');
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

  /** Counted always; logged at most once per IGNORED_ACK_LOG_MS. */
  function ignored(reason: 'not_in_flight' | 'other_epoch', seqs: number[], t: number): void {
    if (seqs.length === 0) return;
    o.metrics.acksIgnored.inc({ reason }, seqs.length);
    if (t - lastIgnoredLog < IGNORED_ACK_LOG_MS) return;
    lastIgnoredLog = t;
    o.log.warn(
      { reason, count: seqs.length, first: seqs[0], last: seqs[seqs.length - 1] },
      'ack for seqs not in flight ignored; nothing deleted (logged once per 10 s)',
    );
  }

  function handleAck(payload: Buffer): void {
    const ack = decodeAck(payload);
    const t = now();
    // Only what this outbox has in flight may be deleted: an ack of an older epoch, a forged one,
    // or one for a seq never sent must not delete a batch the cloud has not committed.
    if (ack.epoch !== undefined && ack.epoch !== o.epoch) {
      ignored('other_epoch', [...ack.acked, ...ack.rejected.map((r) => r.seq)], t);
      return;
    }
    const acked: number[] = [];
    const stray: number[] = [];
    let bestRtt = Number.POSITIVE_INFINITY;
    let bestSentAt = 0;
    for (const seq of ack.acked) {
      const f = inflight.get(seq);
      if (!f) {
        stray.push(seq);
        continue;
      }
      acked.push(seq);
      o.metrics.ackLatency.observe((t - f.firstSentAt) / 1000);
      if (f.sentAt === f.firstSentAt) ackRtt = observeAckRtt(ackRtt, t - f.sentAt);
      if (t - f.sentAt < bestRtt) {
        bestRtt = t - f.sentAt;
        bestSentAt = f.sentAt;
      }
      inflight.delete(seq);
    }
    if (ack.cloudTime !== undefined && acked.length > 0) o.clock?.observe(bestSentAt, t, ack.cloudTime);
    const deleted = o.outbox.ack(acked);
    o.metrics.batchesAcked.inc(deleted);
    reportRefusals(ack.refused, o.metrics, o.log);
    for (const r of ack.rejected) {
      if (!inflight.has(r.seq)) {
        stray.push(r.seq);
        continue;
      }
      inflight.delete(r.seq);
      o.outbox.reject(r.seq, r.reason);
      o.metrics.batchesRejected.inc();
      o.log.error({ seq: r.seq, reason: r.reason }, 'cloud rejected a batch; dropped and reported as a gap');
    }
    ignored('not_in_flight', stray, t);
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

  function publishState(): void {
    if (!o.stateReport || !client.connected) return;
    // Not retained: the retained message on up/status stays the birth or the will.
    client.publish(topics.status(o.edgeId), Buffer.from(encodeJson(o.stateReport())), {
      qos: 1,
      retain: false,
    });
  }

  function pump(): void {
    if (!client.connected || closing) return;
    const room = o.window - inflight.size;
    if (room <= 0) return;
    const t = now();
    for (const b of o.outbox.next(room, new Set(inflight.keys()))) {
      // A fresh timer also after a reconnect: the window is resent once, and backs off again from there.
      const firstMs = firstTimeoutMs(ackRtt, o.ackTimeoutMs, o.ackTimeoutMaxMs);
      inflight.set(b.seq, { sentAt: t, firstSentAt: t, resend: firstResendTimer(firstMs) });
      o.metrics.batchesSent.inc();
      o.metrics.bytesSent.inc(b.bytes.length);
      o.metrics.readingsSent.inc(b.readings);
      publish(b.seq, b.bytes);
    }
    o.metrics.inflight.set(inflight.size);
  }

  // Resend what the cloud has not acked in time: same seq, same bytes (the cloud drops duplicates).
  // Each resend of a batch doubles its timeout, and the first timeout follows the ack round trip
  // (resend-backoff.ts): an overloaded cloud is not buried in duplicates, and the batch is still
  // resent for as long as it is not acked.
  const retry = setInterval(
    () => {
      if (!client.connected) return;
      const t = now();
      const late = [...inflight].filter(([, f]) => t - f.sentAt >= f.resend.waitMs).map(([seq]) => seq);
      if (late.length === 0) return;
      for (const seq of late) {
        const b = o.outbox.read(seq);
        if (!b) {
          inflight.delete(seq); // acked or dropped meanwhile
          continue;
        }
        const f = inflight.get(seq)!;
        f.sentAt = t;
        f.resend = nextResendTimer(f.resend, o.ackTimeoutMaxMs);
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
    get state() {
      return state;
    },
    get broker() {
      return current?.label;
    },
    brokers: brokers.map((b) => b.label),
    pump,
    publishState,
    async close() {
      closing = true;
      clearInterval(retry);
      if (client.connected) {
        // Bounded: a broker that vanished at the same moment never sends the PUBACK, and a stop
        // must not hang on it (the will covers the death message then).
        const published = client
          .publishAsync(topics.status(o.edgeId), Buffer.from(encodeJson(death())), { qos: 1, retain: true })
          .catch(() => {});
        await Promise.race([published, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
      }
      // Forced: whatever mqtt.js still holds in flight is also in the outbox and will be resent.
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    },
  };
}

/** The epoch as a status field: omitted for the legacy epoch, as older edges did. */
export function epochField(epoch: string): { epoch?: string } {
  return epoch === '' ? {} : { epoch };
}
