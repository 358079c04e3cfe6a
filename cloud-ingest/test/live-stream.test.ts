import { connect } from 'node:net';
import { waitFor } from '@village/test-kit';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkBatch } from '../src/sink/sink.js';
import { type ScopedCloud, pmBatch, startScopedCloud } from './auth-cloud.js';
import { counterValue } from './cloud-fixture.js';

interface SseMessage {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a text/event-stream response into parsed messages as they arrive. */
function readSse(res: Response): { messages: SseMessage[]; stop(): Promise<void> } {
  const messages: SseMessage[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split('\n\n');
      buffer = blocks.pop()!;
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) messages.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  return {
    messages,
    async stop() {
      await reader.cancel();
      await pump;
    },
  };
}

const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

describe('live stream (SSE)', { timeout: 120_000 }, () => {
  let t: ScopedCloud;
  beforeAll(async () => {
    t = await startScopedCloud();
  });
  afterAll(() => t.stop());

  const open = async (cookie: string) => {
    const res = await fetch(`${t.base}/api/v1/stream`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    return readSse(res);
  };

  it('forwards committed readings and events, only of villages in the caller’s scope', async () => {
    const a = await open(await t.login('villageA'));
    const town = await open(await t.login('town1'));
    await waitFor('the stream clients gauge', () =>
      t.cloud.metrics.registry.getSingleMetric('cloud_stream_clients') ? true : undefined,
    );
    const b = pmBatch('edge-b', 1, 'pm-b', 3, T0);
    await t.publish('edge-b', b);
    const batchA = pmBatch('edge-a', 1, 'pm-a', 3, T0);
    batchA.events = [{ device: 'wb-a', type: 'fall', severity: 'critical', ts: T0 + 5, data: { x: 1 } }];
    await t.publish('edge-a', batchA);
    // Village A's batch was committed after B's: once A's data is here, B's would have been too.
    await waitFor('village A event', () => a.messages.some((m) => m.event === 'event'));
    const data = a.messages.filter((m) => m.event === 'reading' || m.event === 'event');
    expect(data.map((m) => [m.event, m.data.device, m.data.value ?? m.data.type])).toEqual([
      ['reading', 'pm-a', 20],
      ['reading', 'pm-a', 21],
      ['reading', 'pm-a', 22],
      ['event', 'wb-a', 'fall'],
    ]);
    expect(data[0]!.data).toEqual({
      device: 'pm-a',
      metric: 'pm25',
      value: 20,
      unit: 'µg/m³',
      ts: T0,
      quality: 'good',
      station: 'sA',
      village: 'vA',
      historical: false,
    });
    // The fall opened an alert and an incident (rules runtime): they reach village A as well.
    await waitFor('village A incident', () => a.messages.some((m) => m.event === 'incident'));
    expect(a.messages.find((m) => m.event === 'alert')!.data).toMatchObject({
      village: 'vA',
      device: 'wb-a',
    });
    expect(a.messages.find((m) => m.event === 'incident')!.data).toMatchObject({
      village: 'vA',
      state: 'open',
    });
    expect(a.messages.every((m) => m.data.village === 'vA')).toBe(true);
    await waitFor(
      'town officer sees both villages',
      () => town.messages.filter((m) => m.event === 'reading').length >= 6,
    );
    expect(new Set(town.messages.map((m) => m.data.village))).toEqual(new Set(['vA', 'vB']));
    await a.stop();
    await town.stop();
  });

  it('drops a client that stops reading, counted, while a reading client keeps up', async () => {
    const cookie = await t.login('admin');
    const fast = await open(cookie);
    // The slow client: a real TCP connection that sends the request and never reads the answer.
    const slow = connect(t.cloud.httpPort, '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(`GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n\r\n`);
    // Once the stream's preamble arrived the cloud has registered the client; then stop reading.
    await new Promise<void>((resolve) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        if (!seen.includes('retry: 2000')) return;
        slow.off('data', onData);
        slow.pause();
        resolve();
      };
      slow.on('data', onData);
    });
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => {});
    const dropped = t.cloud.metrics.registry.getSingleMetric('cloud_stream_clients_dropped_total') as Counter;
    const droppedBefore = await counterValue(dropped);
    // Batches go through the committed feed, as the ingest publishes them after each commit.
    let sent = 0;
    for (let i = 0; i < 400 && (await counterValue(dropped)) === droppedBefore; i++) {
      const readings = pmBatch('edge-a', i, 'pm-a', 2000, T0 + i * 2_000_000).readings;
      const batch: SinkBatch = {
        edgeId: 'edge-a',
        historical: false,
        receivedAt: Date.now(),
        place: { county: 'c1', town: 't1', village: 'vA', station: 'sA' },
        readings,
        events: [],
      };
      t.cloud.committed.publish(batch);
      sent += readings.length;
      // Wait until the reading client has the whole batch, so it is never the one falling behind.
      const lastTs = readings.at(-1)!.ts;
      await waitFor(`fast client got batch ${i}`, () => fast.messages.at(-1)?.data.ts === lastTs);
    }
    expect(await counterValue(dropped)).toBe(droppedBefore + 1);
    // Reading what was already in flight lets the socket see the cloud's close.
    slow.resume();
    await slowClosed;
    expect(fast.messages.length).toBe(sent);
    expect(t.logs.some((l) => l.msg === 'slow SSE client dropped' && l.actor === 'admin')).toBe(true);
    // The reading client is still served.
    await t.publish('edge-a', pmBatch('edge-a', 2, 'pm-a', 1, T0 + 999_000_000));
    await waitFor('fast client still live', () => fast.messages.at(-1)?.data.ts === T0 + 999_000_000);
    await fast.stop();
  });
});
