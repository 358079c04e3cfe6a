import type { Reading, Value } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ElderCareOptions,
  type Person,
  type RulesOutput,
  compileRules,
  createState,
  nextDeadline,
  step,
  tick,
} from '../src/index.js';
import { person } from './people-fixture.js';

const MIN = 60_000;
const MORNING = Date.parse('2026-05-01T08:00:00+08:00');
const NIGHT = Date.parse('2026-05-01T23:00:00+08:00');

function setup(p: Partial<Person> = {}, opts: ElderCareOptions = {}, start = MORNING) {
  const rules = compileRules({ people: [person('p1', 'v1', 'wb1', p)], elderCare: opts });
  const state = createState(rules, start);
  const outputs: RulesOutput[] = [];
  const feed = (metric: string, value: Value, ts: number, now = ts) => {
    const reading: Reading = { device: 'wb1', metric, value, unit: '', ts, quality: 'good' };
    const out = step(rules, state, { kind: 'reading', reading }, now).outputs;
    outputs.push(...out);
    return out;
  };
  const doTick = (now: number) => {
    const out = tick(rules, state, now).outputs;
    outputs.push(...out);
    return out;
  };
  const raised = () =>
    outputs
      .filter((o) => o.type === 'alert-raised')
      .map((o) => (o.type === 'alert-raised' ? o.alert.key : ''));
  return { rules, state, outputs, feed, doTick, raised };
}

describe('elder care: vitals', () => {
  it('heart rate outside the person’s own range for N minutes raises, inside by the margin clears', () => {
    const e = setup({}, { vitalsHoldMs: 5 * MIN });
    for (let m = 0; m < 5; m++) e.feed('heart_rate', 130, MORNING + m * MIN);
    expect(e.raised()).toEqual([]);
    const out = e.feed('heart_rate', 131, MORNING + 5 * MIN);
    expect(out.find((o) => o.type === 'alert-raised')).toMatchObject({
      alert: {
        key: 'elder.heart_rate|p1',
        severity: 'critical',
        subject: { person: 'p1', village: 'v1' },
        count: 6,
      },
    });
    // Critical: it opens an incident.
    expect(out.some((o) => o.type === 'incident-opened')).toBe(true);
    e.feed('heart_rate', 109, MORNING + 6 * MIN); // inside, but within the 3 bpm margin
    expect(e.state.alerts['elder.heart_rate|p1']).toBeDefined();
    e.feed('heart_rate', 100, MORNING + 7 * MIN);
    expect(e.state.alerts['elder.heart_rate|p1']).toBeUndefined();
  });
  it('uses each person’s own range', () => {
    const e = setup({ heartRate: { min: 40, max: 140 } }, { vitalsHoldMs: 0 });
    e.feed('heart_rate', 130, MORNING);
    expect(e.raised()).toEqual([]);
    e.feed('heart_rate', 39, MORNING + MIN);
    expect(e.raised()).toEqual(['elder.heart_rate|p1']);
  });
  it('SpO2 below the person’s minimum for N minutes raises', () => {
    const e = setup({ spo2: { min: 90 } }, { vitalsHoldMs: 2 * MIN });
    e.feed('spo2', 88, MORNING);
    e.feed('spo2', 95, MORNING + MIN);
    e.feed('spo2', 88, MORNING + 2 * MIN);
    e.feed('spo2', 87, MORNING + 3 * MIN);
    expect(e.raised()).toEqual([]);
    e.feed('spo2', 87, MORNING + 4 * MIN);
    expect(e.raised()).toEqual(['elder.spo2|p1']);
  });
  it('battery low raises once and clears only at the clear level', () => {
    const e = setup();
    [19, 21, 20, 25, 29].forEach((v, i) => e.feed('battery', v, MORNING + i * MIN));
    expect(e.raised()).toEqual(['elder.battery_low|p1']);
    expect(e.state.alerts['elder.battery_low|p1'].severity).toBe('warning');
    e.feed('battery', 30, MORNING + 10 * MIN);
    expect(e.state.alerts['elder.battery_low|p1']).toBeUndefined();
  });
  it('not worn for the hold during waking hours raises; at night it does not', () => {
    const e = setup({}, { notWornHoldMs: 10 * MIN });
    for (let m = 0; m <= 10; m++) e.feed('worn', false, MORNING + m * MIN);
    expect(e.raised()).toEqual(['elder.not_worn|p1']);
    e.feed('worn', true, MORNING + 11 * MIN);
    expect(e.state.alerts['elder.not_worn|p1']).toBeUndefined();
    const n = setup({}, { notWornHoldMs: 10 * MIN }, NIGHT);
    for (let m = 0; m <= 30; m++) n.feed('worn', false, NIGHT + m * MIN);
    expect(n.raised()).toEqual([]);
  });
  it('attaches the last known position to alerts', () => {
    const e = setup({}, { vitalsHoldMs: 0 });
    e.feed('lat', 30.5, MORNING);
    e.feed('lon', 114.3, MORNING);
    e.feed('heart_rate', 200, MORNING + 1);
    expect(e.state.alerts['elder.heart_rate|p1'].position).toEqual({ lat: 30.5, lon: 114.3 });
  });
  it('counts a wristband metric of the wrong type as rejected', () => {
    const e = setup();
    expect(e.feed('heart_rate', 'fast', MORNING)).toEqual([
      { type: 'input-rejected', reason: 'wrong_value_type', device: 'wb1', metric: 'heart_rate' },
    ]);
    expect(e.feed('worn', 1, MORNING)[0]).toMatchObject({ reason: 'wrong_value_type' });
    expect(e.state.rejected.wrong_value_type).toBe(2);
  });
});

describe('elder care: time-driven rules', () => {
  it('no movement for the span during waking hours, for someone living alone, fires at nextDeadline', () => {
    const e = setup({}, { noMovementMs: 2 * 3_600_000, reportIntervalMs: 86_400_000 });
    e.feed('steps', 100, MORNING);
    e.feed('steps', 150, MORNING + 10 * MIN); // moved at 08:10
    e.feed('steps', 150, MORNING + 60 * MIN);
    const due = nextDeadline(e.rules, e.state, MORNING + 60 * MIN);
    expect(due).toBe(MORNING + 10 * MIN + 2 * 3_600_000);
    expect(e.doTick((due as number) - 1)).toEqual([]);
    const out = e.doTick(due as number);
    expect(out.find((o) => o.type === 'alert-raised')).toMatchObject({
      alert: { key: 'elder.no_movement|p1' },
    });
    // Moving again clears it.
    const moved = e.feed('steps', 151, (due as number) + MIN);
    expect(moved.some((o) => o.type === 'alert-cleared')).toBe(true);
  });
  it('a step counter reset is not movement', () => {
    const e = setup({}, { noMovementMs: 3_600_000, reportIntervalMs: 86_400_000 });
    e.feed('steps', 5000, MORNING);
    e.feed('steps', 0, MORNING + 10 * MIN);
    e.doTick(MORNING + 3_600_000);
    expect(e.raised()).toEqual(['elder.no_movement|p1']);
  });
  it('does not fire at night, and waits for waking hours', () => {
    const e = setup({}, { noMovementMs: 3_600_000, reportIntervalMs: 86_400_000 }, NIGHT);
    e.doTick(NIGHT + 6 * 3_600_000); // 05:00
    expect(e.raised()).toEqual([]);
    const due = nextDeadline(e.rules, e.state, NIGHT + 6 * 3_600_000);
    expect(due).toBe(Date.parse('2026-05-02T08:00:00+08:00'));
    e.doTick(due as number);
    expect(e.raised()).toEqual(['elder.no_movement|p1']);
  });
  it('does not apply to someone who does not live alone', () => {
    const e = setup({ livesAlone: false }, { noMovementMs: 3_600_000, reportIntervalMs: 86_400_000 });
    e.doTick(MORNING + 5 * 3_600_000);
    expect(e.raised()).toEqual([]);
  });
  it('a wristband silent longer than interval × k raises at nextDeadline and clears when heard', () => {
    const e = setup({ livesAlone: false }, { reportIntervalMs: MIN, silenceFactor: 3 });
    e.feed('heart_rate', 70, MORNING);
    const due = nextDeadline(e.rules, e.state, MORNING);
    expect(due).toBe(MORNING + 3 * MIN + 1);
    expect(e.doTick(MORNING + 3 * MIN)).toEqual([]);
    expect(e.doTick(due as number)[0]).toMatchObject({
      type: 'alert-raised',
      alert: { key: 'elder.device_silent|p1' },
    });
    // One alert while it stays silent.
    e.doTick((due as number) + 10 * MIN);
    expect(e.raised()).toEqual(['elder.device_silent|p1']);
    const heard = e.feed('heart_rate', 70, MORNING + 20 * MIN);
    expect(heard[0]).toMatchObject({ type: 'alert-cleared', key: 'elder.device_silent|p1' });
  });
});
