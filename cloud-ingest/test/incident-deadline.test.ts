import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent } from '@village/protocol';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCommittedFeed } from '../src/ingest/committed-feed.js';
import { createNotificationDispatcher } from '../src/notify/notification-dispatcher.js';
import type { Notifier } from '../src/notify/notifier.js';
import { parseRegistry } from '../src/registry-file.js';
import { rulesSectionSchema } from '../src/rules-runtime/rules-config.js';
import { compileRulesSetup } from '../src/rules-runtime/rules-from-registry.js';
import { type LocalRulesRuntime, startRulesRuntime } from '../src/rules-runtime/rules-runtime.js';
import type { SinkBatch } from '../src/sink/sink.js';
import { type Db, openDatabase } from '../src/store/open-database.js';
import { REGISTRY } from './cloud-fixture.js';

/**
 * The runtime with an injected clock (vitest's fake timers drive both Date.now and setTimeout),
 * so the default 3-minute deadline can be checked to the millisecond. The notifier records what
 * it is asked to send: this test is about timing, the real channels are tested in rules-runtime.test.ts.
 */
const T0 = Date.UTC(2026, 2, 3, 2, 0, 0);
const fall = (ts: number): DeviceEvent => ({
  device: 'wb-1',
  type: 'fall',
  severity: 'critical',
  ts,
  data: {},
});

describe('incident deadlines with an injected clock', () => {
  let dir: string;
  let db: Db;
  const sent: { level: string; reason: string; place: string; at: number }[] = [];
  const bodies: { level: string; reason: string; textZh: string | null }[] = [];
  const feed = createCommittedFeed((err) => {
    throw err;
  });
  const recorder: Notifier = {
    channel: 'recorder',
    retry: { maxAttempts: 1, backoffMs: 1, maxBackoffMs: 1 },
    wants: () => true,
    async deliver(m, body) {
      sent.push({ level: m.level, reason: m.reason, place: m.place, at: Date.now() });
      bodies.push({
        level: m.level,
        reason: m.reason,
        textZh: (JSON.parse(body) as { textZh: string | null }).textZh,
      });
    },
  };
  const start = (): LocalRulesRuntime => {
    const log = pino({ level: 'silent' });
    const registry = new Registry();
    return startRulesRuntime({
      db,
      setup: compileRulesSetup(rulesSectionSchema.parse({}), parseRegistry(REGISTRY)),
      committed: feed,
      dispatcher: createNotificationDispatcher({ db, notifiers: [recorder], log, now: Date.now, registry }),
      log,
      registry,
      now: Date.now,
      persistIntervalMs: 250,
      placeOf: () => ({ county: 'c1', town: 't1', village: 'v1', station: 's1' }),
    });
  };
  const batch = (events: DeviceEvent[], receivedAt: number): SinkBatch => ({
    edgeId: 'edge-1',
    historical: false,
    receivedAt,
    place: { county: 'c1', town: 't1', village: 'v1', station: 's1' },
    readings: [],
    events,
  });

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dir = mkdtempSync(join(tmpdir(), 'incident-deadline-'));
    db = openDatabase(dir);
    sent.length = 0;
    bodies.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('escalates to the town at exactly 3:00 after receipt by default, then to the county 3:00 later', async () => {
    const rt = start();
    feed.publish(batch([fall(T0 - 2_000)], T0));
    const [inc] = rt.incidents({ villages: 'all', limit: 10 });
    expect(inc).toMatchObject({ deadline: T0 + 180_000, level: 'village', late: false });
    await vi.advanceTimersByTimeAsync(179_999);
    expect(rt.incident(inc!.id)!.escalations).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rt.incident(inc!.id)!.escalations).toEqual([
      { level: 'town', at: T0 + 180_000, dueAt: T0 + 180_000 },
    ]);
    expect(sent).toContainEqual({ level: 'town', reason: 'escalated', place: 't1', at: T0 + 180_000 });
    await vi.advanceTimersByTimeAsync(180_000);
    expect(rt.incident(inc!.id)!.escalations.map((e) => [e.level, e.at])).toEqual([
      ['town', T0 + 180_000],
      ['county', T0 + 360_000],
    ]);
    expect(sent.filter((s) => s.reason === 'escalated').map((s) => s.place)).toEqual(['t1', 'c1']);
    // After the county the county is told again every step until someone acknowledges.
    await vi.advanceTimersByTimeAsync(180_000);
    expect(sent.filter((s) => s.reason === 'escalated').map((s) => s.place)).toEqual(['t1', 'c1', 'c1']);
    expect(rt.incident(inc!.id)!.deadline).toBe(T0 + 720_000);
    // The rendered Chinese text names 张三 in full for the village, masked above it (PIPL).
    expect(bodies.map((b) => [b.level, b.textZh])).toEqual([
      ['village', '张三 跌倒'],
      ['town', '张* 跌倒'],
      ['county', '张* 跌倒'],
      ['county', '张* 跌倒'],
    ]);
    await rt.close();
  });

  it('a restart keeps the deadline; one missed while down fires at once on start', async () => {
    let rt = start();
    feed.publish(batch([fall(T0)], T0));
    const id = rt.incidents({ villages: 'all', limit: 1 })[0]!.id;
    await vi.advanceTimersByTimeAsync(60_000);
    await rt.close();
    rt = start();
    await vi.advanceTimersByTimeAsync(119_999);
    expect(rt.incident(id)!.escalations).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rt.incident(id)!.escalations[0]).toMatchObject({ level: 'town', at: T0 + 180_000 });
    // Down across the county deadline: it fires on start, and says it was due earlier.
    await rt.close();
    vi.setSystemTime(T0 + 400_000);
    rt = start();
    expect(rt.incident(id)!.escalations[1]).toEqual({
      level: 'county',
      at: T0 + 400_000,
      dueAt: T0 + 360_000,
    });
    await rt.close();
  });

  it('a late event (backlog) opens an incident marked late, with its full window from receipt', async () => {
    const rt = start();
    feed.publish(batch([fall(T0 - 3_600_000)], T0));
    const inc = rt.incidents({ villages: 'all', limit: 1 })[0]!;
    expect(inc).toMatchObject({
      late: true,
      delayMs: 3_600_000,
      deadline: T0 + 180_000,
      eventAt: T0 - 3_600_000,
    });
    await rt.close();
  });

  it('feeds again the committed events a crash kept from the engine (at-least-once for alarms)', async () => {
    // The sink's events table, as the SQLite sink creates it; an event committed after the
    // engine's last write (its cursor) is what a crash between commit and rules write leaves.
    db.exec(`CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, edge TEXT NOT NULL, device TEXT NOT NULL,
      type TEXT NOT NULL, severity TEXT NOT NULL, ts INTEGER NOT NULL, received_at INTEGER NOT NULL,
      historical INTEGER NOT NULL, data JSON NOT NULL, rewrites INTEGER NOT NULL DEFAULT 0)`);
    let rt = start();
    await rt.close();
    db.prepare(
      "INSERT INTO events (edge, device, type, severity, ts, received_at, historical, data) VALUES ('edge-1', 'wb-1', 'sos', 'critical', ?, ?, 0, '{}')",
    ).run(T0, T0 + 50);
    rt = start();
    const [inc] = rt.incidents({ villages: 'all', limit: 5 });
    expect(inc).toMatchObject({ openedAt: T0 + 50, deadline: T0 + 50 + 180_000, person: 'p1' });
    await rt.close();
    // Fed once: a further restart does not open it again.
    rt = start();
    expect(rt.incidents({ villages: 'all', limit: 5 })).toHaveLength(1);
    await rt.close();
  });
});
