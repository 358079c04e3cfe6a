// A fleet of protocol-level edges: mqtt.js clients on the real wire (MQTT 3.1.1, the CBOR batch
// codec from @village/protocol, the real topics, QoS 1, the cloud's own acks). Each edge cuts one
// batch every `periodMs`, keeps at most `window` batches in flight (the rest wait at the edge, as
// in the real outbox) and resends an unacked batch after `ackTimeoutMs` with the same seq and bytes
// (with `resendBackoff`, the real edge's policy, imported from its built dist: each resend of a
// batch doubles its timeout, with jitter, up to `ackTimeoutMaxMs`, a reconnect starts over, and the
// first timeout follows the edge's ack round trip; without it, the fixed timeout of edges before
// that policy, for comparison).
// The clients run in worker threads so they can use the second core (bench/fleet.mjs and the
// e2e fleet test share this module).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const SELF = new URL(import.meta.url);

/**
 * Starts `edges` split over `workers` threads. Returns a handle: `connected` resolves when every
 * edge has its first CONNACK and SUBACK; `take()` returns (and resets) the counters gathered since
 * the last call; `reconnect()` ends every connection and reconnects them all, resolving with the
 * time until the last is back; `stopCutting()` stops cutting new batches (what is cut is still
 * sent and resent until acked); `stop()` closes everything.
 */
export function startFleet({
  url,
  edges,
  periodMs = 1000,
  readings = 4,
  window = 8,
  ackTimeoutMs = 15_000,
  ackTimeoutMaxMs = 120_000,
  resendBackoff = false,
  workers = 1,
  connectConcurrency = 200,
}) {
  const t0 = performance.now();
  const threads = [];
  const slices = Array.from({ length: workers }, (_, w) => edges.filter((_, i) => i % workers === w));
  let totals = emptyCounters();
  let connectedCount = 0;
  let resolveConnected;
  let rejectConnected;
  const connected = new Promise((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  let reconnectWaiter;
  for (const slice of slices) {
    if (slice.length === 0) continue;
    const worker = new Worker(SELF, {
      workerData: {
        fleet: {
          url,
          edges: slice,
          periodMs,
          readings,
          window,
          ackTimeoutMs,
          ackTimeoutMaxMs,
          resendBackoff,
          connectConcurrency,
        },
      },
    });
    worker.on('message', (m) => {
      if (m.type === 'counters') merge(totals, m.counters);
      else if (m.type === 'connected') {
        connectedCount += m.count;
        if (connectedCount === edges.length) resolveConnected({ connectMs: performance.now() - t0 });
      } else if (m.type === 'reconnected') reconnectWaiter?.(m.count);
    });
    worker.on('error', (err) => rejectConnected(err));
    threads.push(worker);
  }
  return {
    connected,
    /** Counters since the last call: sent, acked, resent, ackErrors, latencies (ms, send → ack), backlog. */
    async take() {
      await Promise.all(threads.map((t) => ask(t, 'flush')));
      const out = totals;
      totals = emptyCounters();
      return out;
    },
    async reconnect() {
      const start = performance.now();
      let back = 0;
      const all = new Promise((resolve) => {
        reconnectWaiter = (n) => {
          back += n;
          if (back === edges.length) resolve();
        };
      });
      for (const t of threads) t.postMessage({ type: 'reconnect' });
      await all;
      return { reconnectMs: performance.now() - start };
    },
    async stopCutting() {
      await Promise.all(threads.map((t) => ask(t, 'stop-cutting')));
    },
    async stop() {
      await Promise.all(threads.map((t) => ask(t, 'stop')));
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}

function emptyCounters() {
  return { sent: 0, acked: 0, resent: 0, ackErrors: 0, latencies: [], backlog: 0, inflight: 0 };
}

function merge(into, c) {
  into.sent += c.sent;
  into.acked += c.acked;
  into.resent += c.resent;
  into.ackErrors += c.ackErrors;
  for (const l of c.latencies) into.latencies.push(l);
  into.backlog += c.backlog;
  into.inflight += c.inflight;
}

function ask(worker, type) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.type === `${type}-done`) {
        worker.off('message', onMessage);
        resolve();
      }
    };
    worker.on('message', onMessage);
    worker.postMessage({ type });
  });
}

// ---- inside a worker thread: the edges themselves ----

async function runWorker({
  url,
  edges,
  periodMs,
  readings,
  window,
  ackTimeoutMs,
  ackTimeoutMaxMs,
  resendBackoff,
  connectConcurrency,
}) {
  const { default: mqtt } = await import('mqtt');
  const { decodeAck, encodeBatch, topics } = await import('@village/protocol');
  // One source for the policy: the edge-agent's own (build it first: npx turbo run build).
  const policy = await import('../edge-agent/dist/resend-backoff.js');
  // Without the backoff: the fixed timeout the edge had before.
  const fixed = { baseMs: ackTimeoutMs, waitMs: ackTimeoutMs };
  // With the policy, each edge's first timeout follows its ack round trip, as the edge's uplink does.
  const firstTimer = (edge) =>
    resendBackoff
      ? policy.firstResendTimer(policy.firstTimeoutMs(edge.rtt, ackTimeoutMs, ackTimeoutMaxMs))
      : fixed;
  const nextTimer = (t) => (resendBackoff ? policy.nextResendTimer(t, ackTimeoutMaxMs) : fixed);
  let counters = emptyCounters();
  const fleet = [];

  const makeBatch = (edge) => {
    const createdAt = Date.now();
    const seq = ++edge.seq;
    const rs = [];
    for (let i = 0; i < readings; i++) {
      rs.push({
        // Devices of its own: another edge's device ids would be refused (device-ownership.ts).
        device: `${edge.id}-d${i % 16}`,
        metric: `m${Math.floor(i / 16)}`,
        value: Math.round(Math.random() * 1000) / 10,
        unit: 'ug/m3',
        ts: createdAt,
        quality: 'good',
      });
    }
    const bytes = encodeBatch({
      edgeId: edge.id,
      seq,
      boot: 1,
      createdAt,
      historical: false,
      readings: rs,
      events: [],
    });
    return { seq, bytes: Buffer.from(bytes), resend: undefined, resent: false };
  };

  const send = (edge, b) => {
    b.sentAt = performance.now();
    b.resend = firstTimer(edge);
    edge.inflight.set(b.seq, b);
    edge.client.publish(edge.topic, b.bytes, { qos: 1 });
  };

  const pump = (edge) => {
    while (edge.ready && edge.inflight.size < window && edge.pending.length > 0) {
      send(edge, edge.pending.shift());
      counters.sent++;
    }
  };

  // Connections open a few hundred at a time, as a restarting fleet's backoff would spread them.
  let opening = 0;
  const waiting = [];
  const slot = () => {
    if (opening < connectConcurrency) {
      opening++;
      return Promise.resolve();
    }
    return new Promise((r) => waiting.push(r));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else opening--;
  };

  let firstConnected = 0;
  let cutting = true;
  let reconnectPending = 0;

  const open = async (edge, onBack) => {
    await slot();
    const client = mqtt.connect(url, {
      clientId: edge.id,
      username: edge.id,
      password: edge.secret,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 1000,
      connectTimeout: 60_000,
    });
    edge.client = client;
    // As the edge's uplink does (edge-agent/src/uplink.ts): no Nagle delay on the batch's writes.
    client.on('connect', () => client.stream.setNoDelay?.(true));
    let released = false;
    const releaseOnce = () => {
      if (!released) {
        released = true;
        release();
      }
    };
    client.on('connect', () => {
      client.subscribe(edge.ackTopic, { qos: 1 }, (err) => {
        releaseOnce();
        if (err) return;
        edge.ready = true;
        // A fresh session: what was in flight goes again, same seq and bytes, with a fresh timer.
        for (const b of edge.inflight.values()) {
          b.sentAt = performance.now();
          b.resent = true; // its ack is no clean round-trip sample (Karn)
          b.resend = firstTimer(edge);
          client.publish(edge.topic, b.bytes, { qos: 1 });
        }
        pump(edge);
        onBack?.();
        onBack = undefined;
      });
    });
    client.on('close', () => {
      edge.ready = false;
    });
    client.on('error', () => releaseOnce());
    client.on('message', (_topic, payload) => {
      let ack;
      try {
        ack = decodeAck(payload);
      } catch {
        counters.ackErrors++;
        return;
      }
      const now = performance.now();
      for (const seq of ack.acked) {
        const b = edge.inflight.get(seq);
        if (!b) continue;
        edge.inflight.delete(seq);
        counters.acked++;
        counters.latencies.push(now - b.sentAt);
        if (resendBackoff && !b.resent) edge.rtt = policy.observeAckRtt(edge.rtt, now - b.sentAt);
      }
      pump(edge);
    });
  };

  for (const e of edges) {
    const edge = {
      id: e.id,
      secret: e.secret,
      topic: topics.batch(e.id),
      ackTopic: topics.ack(e.id),
      seq: 0,
      pending: [],
      inflight: new Map(),
      rtt: policy.freshAckRtt(),
      ready: false,
      client: undefined,
    };
    fleet.push(edge);
    open(edge, () => {
      firstConnected++;
      if (firstConnected % 100 === 0 || firstConnected === edges.length) {
        parentPort.postMessage({ type: 'connected', count: firstConnected % 100 || 100 });
      }
      // Each edge cuts its batches on its own clock, spread over the period.
      setTimeout(() => {
        if (!cutting) return;
        edge.timer = setInterval(() => {
          edge.pending.push(makeBatch(edge));
          pump(edge);
        }, periodMs);
      }, Math.random() * periodMs);
    });
  }

  const resender = setInterval(() => {
    const now = performance.now();
    for (const edge of fleet) {
      if (!edge.ready) continue;
      for (const b of edge.inflight.values()) {
        if (now - b.sentAt < b.resend.waitMs) continue;
        b.sentAt = now;
        b.resent = true;
        b.resend = nextTimer(b.resend);
        edge.client.publish(edge.topic, b.bytes, { qos: 1 });
        counters.resent++;
      }
    }
  }, 1000);

  parentPort.on('message', async (m) => {
    if (m.type === 'flush') {
      const c = counters;
      counters = emptyCounters();
      for (const edge of fleet) {
        c.backlog += edge.pending.length;
        c.inflight += edge.inflight.size;
      }
      parentPort.postMessage({ type: 'counters', counters: c });
      parentPort.postMessage({ type: 'flush-done' });
    } else if (m.type === 'reconnect') {
      reconnectPending = fleet.length;
      let back = 0;
      for (const edge of fleet) {
        edge.ready = false;
        edge.client.end(true, () => {
          open(edge, () => {
            back++;
            reconnectPending--;
            if (back % 100 === 0 || reconnectPending === 0) {
              parentPort.postMessage({ type: 'reconnected', count: back % 100 || 100 });
            }
          });
        });
      }
    } else if (m.type === 'stop-cutting') {
      cutting = false;
      for (const edge of fleet) clearInterval(edge.timer);
      parentPort.postMessage({ type: 'stop-cutting-done' });
    } else if (m.type === 'stop') {
      clearInterval(resender);
      for (const edge of fleet) clearInterval(edge.timer);
      await Promise.all(fleet.map((edge) => new Promise((r) => edge.client.end(true, r))));
      parentPort.postMessage({ type: 'stop-done' });
    }
  });
}

if (!isMainThread && workerData?.fleet) runWorker(workerData.fleet);
