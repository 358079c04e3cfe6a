import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@village/protocol';
import { ConfigError } from '@village/service-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { createCommittedFeed } from '../src/ingest/committed-feed.js';
import { createNotificationDispatcher } from '../src/notify/notification-dispatcher.js';
import { loadRegistry, parseRegistry } from '../src/registry-file.js';
import { rulesSectionSchema } from '../src/rules-runtime/rules-config.js';
import { compileRulesSetup } from '../src/rules-runtime/rules-from-registry.js';
import { type LocalRulesRuntime, startRulesRuntime } from '../src/rules-runtime/rules-runtime.js';
import type { SinkBatch } from '../src/sink/sink.js';
import { type Db, openDatabase } from '../src/store/open-database.js';
import { REGISTRY } from './cloud-fixture.js';

/**
 * A person's quiet windows (午休) and their band's reporting interval, set in registry.yaml,
 * reach the elder-care rules: parsed, compiled, and judged by the runtime with an injected clock.
 */
const NAP = { from: '12:30', to: '14:00' };
const withPeople = (people: unknown[]) => ({ ...REGISTRY, people });
const p1 = {
  id: 'p1',
  name: '张三',
  station: 's1',
  wristband: 'wb-1',
  livesAlone: true,
  quiet: [NAP],
  reportIntervalMs: 600_000,
};

describe('quiet windows and reportIntervalMs in registry.yaml', () => {
  it('are parsed and compiled into the elder-care rules', () => {
    const setup = compileRulesSetup(rulesSectionSchema.parse({}), parseRegistry(withPeople([p1])));
    const [person] = setup.rules.people;
    expect(person).toMatchObject({ id: 'p1', quiet: [NAP], reportIntervalMs: 600_000 });
    expect(person!.quietWindows).toEqual([{ fromMin: 750, toMin: 840 }]);
  });

  it('a person without them keeps the rules defaults (no quiet window, interval learned)', () => {
    const { quiet, reportIntervalMs, ...plain } = p1;
    const [person] = compileRulesSetup(rulesSectionSchema.parse({}), parseRegistry(withPeople([plain]))).rules
      .people;
    expect(person!.quietWindows).toEqual([]);
    expect(person!.reportIntervalMs).toBeUndefined();
  });

  it.each([
    [{ ...p1, quiet: [{ from: '12:3', to: '14:00' }] }, 'people.0.quiet.0.from', "'HH:MM'"],
    [{ ...p1, quiet: [{ from: '25:00', to: '26:00' }] }, 'people.0.quiet.0.from', "'HH:MM'"],
    [{ ...p1, quiet: [{ from: '14:00', to: '12:30' }] }, 'people.0.quiet.0.to', 'after from'],
    [{ ...p1, quiet: [{ from: '12:30' }] }, 'people.0.quiet.0.to', ''],
    [{ ...p1, quiet: { from: '12:30', to: '14:00' } }, 'people.0.quiet', ''],
    [{ ...p1, reportIntervalMs: 0 }, 'people.0.reportIntervalMs', ''],
  ])('a bad value is a ConfigError naming the file and key (%j)', (person, key, says) => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-quiet-'));
    try {
      const file = join(dir, 'registry.yaml');
      writeFileSync(file, stringify(withPeople([person])));
      let err: unknown;
      try {
        loadRegistry(file);
      } catch (e) {
        err = e;
      }
      // ConfigError is what the bin turns into exit code 2 with this message.
      expect(err).toBeInstanceOf(ConfigError);
      const line = (err as Error).message.split('\n').find((l) => l.startsWith(`registry.yaml: ${key}:`));
      expect(line, (err as Error).message).toBeDefined();
      expect(line).toContain(says);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The runtime with vitest's fake timers driving Date.now and setTimeout. Three bands report
 * every 10 minutes with unchanging steps (nobody moves) from 12:30 local (UTC+8):
 * p1 has the nap window 12:30–14:00, p2 has none, both declare reportIntervalMs 600 000;
 * p3 declares no interval (the control for silence). The notifier only records: this is about
 * which alerts the rules raise, the real channels are tested in rules-runtime.test.ts.
 */
const T0 = Date.UTC(2026, 2, 3, 4, 30); // 12:30 in UTC+8
const HOUR = 3_600_000;

describe('quiet windows and band rhythm in the rules runtime (injected clock)', () => {
  let dir: string;
  let db: Db;
  const feed = createCommittedFeed((err) => {
    throw err;
  });
  const start = (): LocalRulesRuntime => {
    const log = pino({ level: 'silent' });
    const registry = new Registry();
    const people = withPeople([
      p1,
      { ...p1, id: 'p2', name: '李四', wristband: 'wb-2', quiet: undefined },
      { id: 'p3', name: '王五', station: 's1', wristband: 'wb-3' },
    ]);
    return startRulesRuntime({
      db,
      setup: compileRulesSetup(
        rulesSectionSchema.parse({ elderCare: { noMovementMs: HOUR, noMovementCriticalMs: 4 * HOUR } }),
        parseRegistry(JSON.parse(JSON.stringify(people))),
      ),
      committed: feed,
      dispatcher: createNotificationDispatcher({
        db,
        notifiers: [
          {
            channel: 'recorder',
            retry: { maxAttempts: 1, backoffMs: 1, maxBackoffMs: 1 },
            wants: () => true,
            async deliver() {},
          },
        ],
        log,
        now: Date.now,
        registry,
      }),
      log,
      registry,
      now: Date.now,
      persistIntervalMs: 250,
      placeOf: () => ({ county: 'c1', town: 't1', village: 'v1', station: 's1' }),
    });
  };
  const report = (now: number) => {
    const readings: Reading[] = ['wb-1', 'wb-2', 'wb-3'].map((device) => ({
      device,
      metric: 'steps',
      value: 1200,
      unit: 'steps',
      ts: now,
      quality: 'good',
    }));
    const batch: SinkBatch = {
      edgeId: 'edge-1',
      historical: false,
      receivedAt: now,
      place: { county: 'c1', town: 't1', village: 'v1', station: 's1' },
      readings,
      events: [],
    };
    feed.publish(batch);
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    dir = mkdtempSync(join(tmpdir(), 'registry-elder-'));
    db = openDatabase(dir);
  });
  afterEach(() => {
    vi.useRealTimers();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a nap inside the window raises no no-movement alert, the same stillness outside it does; a 10-min band is not silent', async () => {
    const rt = start();
    const raised = (person: string, rule: string) =>
      rt
        .alerts({ villages: 'all', limit: 100 })
        .filter((a) => a.person === person && a.rule === `elder.${rule}`)
        .map((a) => a.raisedAt);
    report(T0);
    // 12:30 → 15:30, a report every 10 minutes, nobody moving.
    for (let t = T0 + 600_000; t <= T0 + 3 * HOUR; t += 600_000) {
      await vi.advanceTimersByTimeAsync(600_000);
      report(t);
    }
    // p2, no window: one hour of stillness at 13:30 is a warning.
    expect(raised('p2', 'no_movement')).toEqual([T0 + HOUR]);
    // p1 napped through the window; its hour counts from 14:00, so the warning comes at 15:00.
    expect(raised('p1', 'no_movement')).toEqual([T0 + 2.5 * HOUR]);
    // Bands declared to report every 10 minutes are never silent...
    for (const p of ['p1', 'p2']) {
      expect(raised(p, 'device_silent')).toEqual([]);
      expect(raised(p, 'silent_alone')).toEqual([]);
    }
    // ...while the same rhythm without the declaration is judged on the 60 s default (3 × 60 s).
    expect(Math.min(...raised('p3', 'device_silent'))).toBe(T0 + 180_001);
    await rt.close();
  });
});
