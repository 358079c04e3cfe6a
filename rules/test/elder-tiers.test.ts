import type { Reading, Value } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ElderCareOptions,
  type Person,
  type RulesOutput,
  acknowledge,
  compileRules,
  createState,
  nextDeadline,
  step,
  tick,
} from '../src/index.js';
import { person } from './people-fixture.js';

/** Issue 15: silence by the band's own rhythm, tiered silence and no movement, vitals only while worn. */
const MIN = 60_000;
const HOUR = 3_600_000;
const at = (hhmm: string) => Date.parse(`2026-05-01T${hhmm}:00+08:00`);

function setup(p: Partial<Person> = {}, opts: ElderCareOptions = {}, start = at('08:00')) {
  const rules = compileRules({ people: [person('p1', 'v1', 'wb1', p)], elderCare: opts });
  const state = createState(rules, start);
  const outputs: RulesOutput[] = [];
  const feed = (metric: string, value: Value, ts: number, now = ts) => {
    const reading: Reading = { device: 'wb1', metric, value, unit: '', ts, quality: 'good' };
    const out = step(rules, state, { kind: 'reading', reading }, now).outputs;
    outputs.push(...out);
    return out;
  };
  /** Ticks at every deadline up to `until`, as a runtime's timer would. */
  const runUntil = (until: number) => {
    for (let i = 0; i < 1000; i++) {
      const due = nextDeadline(rules, state, until);
      if (due === null || due > until) break;
      outputs.push(...tick(rules, state, Math.max(due, 0)).outputs);
    }
    outputs.push(...tick(rules, state, until).outputs);
  };
  const raised = () =>
    outputs.flatMap((o) => (o.type === 'alert-raised' ? [`${o.alert.key}:${o.alert.severity}`] : []));
  const opened = () => outputs.flatMap((o) => (o.type === 'incident-opened' ? [o.incident.kind] : []));
  return { rules, state, outputs, feed, runUntil, raised, opened };
}

describe('silence by the band’s own rhythm', () => {
  it('a band that reports every 10 min is judged on 10 min, learned from its history', () => {
    const e = setup({ livesAlone: false });
    // Three 10-minute gaps teach the rhythm (before that the 60 s default applies).
    for (let k = 0; k <= 3; k++) e.feed('steps', 100 + k, at('08:00') + k * 10 * MIN);
    const last = at('08:30');
    e.runUntil(last + 25 * MIN);
    expect(e.raised()).toEqual([]);
    e.runUntil(last + 31 * MIN);
    expect(e.raised()).toEqual(['elder.device_silent|p1:warning']);
  });

  it('the interval from the profile or registry wins over the default', () => {
    const e = setup({ livesAlone: false, reportIntervalMs: 10 * MIN });
    e.feed('steps', 100, at('08:00'));
    e.runUntil(at('08:29'));
    expect(e.raised()).toEqual([]);
    e.runUntil(at('08:31'));
    expect(e.raised()).toEqual(['elder.device_silent|p1:warning']);
  });

  it('the silent band of a person living alone warns first, then becomes a critical incident', () => {
    const e = setup({ reportIntervalMs: MIN }, { silenceAloneCriticalMs: 30 * MIN, noMovementMs: 3 * HOUR });
    e.feed('steps', 100, at('08:00'));
    e.runUntil(at('08:10'));
    expect(e.raised()).toEqual(['elder.device_silent|p1:warning']);
    expect(e.opened()).toEqual([]);
    e.runUntil(at('08:31'));
    expect(e.raised()).toEqual(['elder.device_silent|p1:warning', 'elder.silent_alone|p1:critical']);
    expect(e.opened()).toEqual(['elder.silent_alone']);
    // Heard again: both clear.
    const back = e.feed('steps', 100, at('08:40'));
    expect(
      back.filter((o) => o.type === 'alert-cleared').map((o) => (o.type === 'alert-cleared' ? o.key : '')),
    ).toEqual(['elder.device_silent|p1', 'elder.silent_alone|p1']);
  });

  it('after 3 h a silent band raises no "no movement" (the silence names the cause)', () => {
    const e = setup({ reportIntervalMs: MIN }, { noMovementMs: 3 * HOUR });
    e.feed('steps', 100, at('08:00'));
    e.runUntil(at('14:00'));
    expect(e.raised().some((r) => r.startsWith('elder.no_movement'))).toBe(false);
    expect(e.raised()).toContain('elder.silent_alone|p1:critical');
  });
});

describe('vitals only while worn, within plausibility', () => {
  it('heart rate 0 with worn=false for 10 minutes opens nothing', () => {
    const e = setup({ reportIntervalMs: 10 * MIN }, { vitalsHoldMs: 5 * MIN });
    for (let m = 0; m <= 10; m++) {
      e.feed('worn', false, at('08:00') + m * MIN);
      e.feed('heart_rate', 0, at('08:00') + m * MIN);
    }
    expect(e.raised().filter((r) => r.startsWith('elder.heart_rate'))).toEqual([]);
    expect(e.opened()).toEqual([]);
  });

  it('a heart rate below 30 or above 220 is an artefact: counted, never an alert', () => {
    const e = setup({}, { vitalsHoldMs: 0 });
    const out = e.feed('heart_rate', 0, at('08:00'));
    expect(out).toEqual([
      { type: 'input-rejected', reason: 'implausible_value', device: 'wb1', metric: 'heart_rate' },
    ]);
    e.feed('heart_rate', 250, at('08:01'));
    expect(e.state.rejected.implausible_value).toBe(2);
    expect(e.raised()).toEqual([]);
    // A real low heart rate, worn, held: critical.
    e.feed('heart_rate', 40, at('08:02'));
    expect(e.raised()).toEqual(['elder.heart_rate|p1:critical']);
  });

  it('an artefact in the middle of a hold restarts it', () => {
    const e = setup({}, { vitalsHoldMs: 5 * MIN });
    e.feed('heart_rate', 130, at('08:00'));
    e.feed('heart_rate', 0, at('08:03'));
    e.feed('heart_rate', 130, at('08:04'));
    e.feed('heart_rate', 130, at('08:06'));
    expect(e.raised()).toEqual([]);
    e.feed('heart_rate', 130, at('08:09'));
    expect(e.raised()).toEqual(['elder.heart_rate|p1:critical']);
  });
});

describe('no movement, tiered, with quiet windows', () => {
  const opts = { noMovementMs: 3 * HOUR, noMovementCriticalMs: 5 * HOUR, reportIntervalMs: 86_400_000 };

  it('an afternoon nap (午休 12:00–14:30) does not count, and 3 h is a warning with a check call, not an incident', () => {
    const e = setup({ quiet: [{ from: '12:00', to: '14:30' }] }, opts);
    e.feed('steps', 100, at('10:00'));
    e.feed('steps', 150, at('11:00')); // last movement 11:00
    e.runUntil(at('16:29'));
    expect(e.raised()).toEqual([]);
    // 11:00–12:00 and 14:30–16:30: three waking hours outside the nap.
    expect(nextDeadline(e.rules, e.state, at('16:29'))).toBe(at('16:30'));
    e.runUntil(at('16:30'));
    expect(e.raised()).toEqual(['elder.no_movement|p1:warning']);
    const alert = e.state.alerts['elder.no_movement|p1'];
    expect(alert.message).toMatch(/call to check/);
    expect(e.opened()).toEqual([]);
    // Critical after 5 h of waking time outside the nap: 18:30.
    e.runUntil(at('18:29'));
    expect(e.opened()).toEqual([]);
    e.runUntil(at('18:30'));
    expect(e.raised()).toEqual(['elder.no_movement|p1:warning', 'elder.no_movement_critical|p1:critical']);
    expect(e.opened()).toEqual(['elder.no_movement_critical']);
  });

  it('without a quiet window, the old 3 h critical nap case is now a warning', () => {
    const e = setup({}, opts);
    e.feed('steps', 100, at('11:00'));
    e.feed('steps', 101, at('11:00') + 1);
    e.runUntil(at('14:30'));
    expect(e.raised()).toEqual(['elder.no_movement|p1:warning']);
    expect(e.opened()).toEqual([]);
  });

  it('no movement together with a band not worn is critical at once', () => {
    const e = setup({}, { ...opts, notWornHoldMs: 15 * MIN });
    e.feed('steps', 100, at('08:00'));
    e.feed('steps', 101, at('08:00') + 1);
    e.runUntil(at('11:01'));
    expect(e.raised()).toEqual(['elder.no_movement|p1:warning']);
    e.feed('worn', false, at('11:05'));
    e.feed('worn', false, at('11:21'));
    e.runUntil(at('11:21'));
    expect(e.raised()).toEqual([
      'elder.no_movement|p1:warning',
      'elder.not_worn|p1:warning',
      'elder.no_movement_critical|p1:critical',
    ]);
    expect(e.opened()).toEqual(['elder.no_movement_critical']);
    // Moving clears both tiers.
    const moved = e.feed('steps', 130, at('11:30'));
    expect(moved.filter((o) => o.type === 'alert-cleared')).toHaveLength(2);
  });
});

describe('an offline edge is the root cause', () => {
  it('one "edge offline" incident for the station instead of one silence alert per band behind it', () => {
    const people = [1, 2, 3].map((k) =>
      person(`p${k}`, 'v1', `wb${k}`, { station: 's1', reportIntervalMs: MIN }),
    );
    const rules = compileRules({ people, elderCare: { silenceAloneCriticalMs: 30 * MIN } });
    const t0 = at('08:00');
    const state = createState(rules, t0);
    const outs: RulesOutput[] = [];
    const status = (online: boolean, now: number) =>
      outs.push(
        ...step(
          rules,
          state,
          { kind: 'station', status: { station: 's1', village: 'v1', edge: 'edge-1', online } },
          now,
        ).outputs,
      );
    status(false, t0 + 30_000);
    for (let now = t0 + MIN; now <= t0 + 2 * HOUR; now += MIN) {
      const due = nextDeadline(rules, state, now);
      if (due !== null && due <= now) outs.push(...tick(rules, state, now).outputs);
    }
    outs.push(...tick(rules, state, t0 + 2 * HOUR).outputs);
    const raised = outs.flatMap((o) => (o.type === 'alert-raised' ? [o.alert.key] : []));
    expect(raised).toEqual(['edge.offline|s1']);
    const opened = outs.flatMap((o) => (o.type === 'incident-opened' ? [o.incident] : []));
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ kind: 'edge.offline', station: 's1', devices: ['edge-1'] });
    // Back online: the alert clears and the bands' silence timers run again from now.
    status(true, t0 + 2 * HOUR);
    expect(outs.some((o) => o.type === 'alert-cleared' && o.key === 'edge.offline|s1')).toBe(true);
    acknowledge(rules, state, opened[0].id, 'officer-li', t0 + 2 * HOUR);
    expect(nextDeadline(rules, state, t0 + 2 * HOUR)).toBe(t0 + 2 * HOUR + 3 * MIN + 1);
  });
});
