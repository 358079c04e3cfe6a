import type { DeviceEvent } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import {
  type EngineState,
  type Incident,
  RulesError,
  type RulesOutput,
  acknowledge,
  compileRules,
  createState,
  nextDeadline,
  resolve,
  restoreState,
  serializeState,
  step,
  tick,
} from '../src/index.js';
import { PEOPLE } from './people-fixture.js';

const T0 = Date.parse('2026-05-01T02:00:00Z'); // 10:00 in China: waking hours
const ACK = 180_000;
// Silence and no-movement rules are pushed out of the way so deadlines here are the incidents'.
const rules = compileRules({
  people: PEOPLE,
  devices: { smoke1: { village: 'v2' } },
  elderCare: { reportIntervalMs: 86_400_000, noMovementMs: 86_400_000 },
});

function event(device: string, type: string, ts: number): { kind: 'event'; event: DeviceEvent } {
  return { kind: 'event', event: { device, type, severity: 'critical', ts, data: {} } };
}
const of = <T extends RulesOutput['type']>(outs: RulesOutput[], type: T) =>
  outs.filter((o): o is Extract<RulesOutput, { type: T }> => o.type === type);

function openFall(now = T0): { state: EngineState; incident: Incident } {
  const state = createState(rules, T0);
  const out = step(rules, state, event('wb1', 'fall', now - 2000), now).outputs;
  const opened = of(out, 'incident-opened');
  expect(opened).toHaveLength(1);
  return { state, incident: opened[0].incident };
}

describe('incidents', () => {
  it('a fall opens an incident at once and notifies the village', () => {
    const state = createState(rules, T0);
    const out = step(rules, state, event('wb1', 'fall', T0 - 2000), T0).outputs;
    expect(of(out, 'alert-raised')[0].alert).toMatchObject({ key: 'elder.fall|p1', severity: 'critical' });
    const inc = of(out, 'incident-opened')[0].incident;
    expect(inc).toMatchObject({
      status: 'open',
      village: 'v1',
      people: ['p1'],
      openedAt: T0,
      deadline: T0 + ACK,
      late: false,
    });
    expect(of(out, 'notify')).toEqual([
      { type: 'notify', incidentId: inc.id, village: 'v1', level: 'village', reason: 'opened' },
    ]);
    expect(nextDeadline(rules, state, T0)).toBe(T0 + ACK);
  });

  it('escalates village → town → county at exactly each deadline via tick', () => {
    const { state, incident } = openFall();
    expect(tick(rules, state, T0 + ACK - 1).outputs).toEqual([]);
    const first = tick(rules, state, T0 + ACK).outputs;
    expect(of(first, 'incident-escalated')).toEqual([
      { type: 'incident-escalated', incidentId: incident.id, level: 'town', dueAt: T0 + ACK, at: T0 + ACK },
    ]);
    expect(of(first, 'notify')).toEqual([
      { type: 'notify', incidentId: incident.id, village: 'v1', level: 'town', reason: 'escalated' },
    ]);
    expect(nextDeadline(rules, state, T0 + ACK)).toBe(T0 + 2 * ACK);
    const second = tick(rules, state, T0 + 2 * ACK).outputs;
    expect(of(second, 'incident-escalated')[0].level).toBe('county');
    // After the county the notification repeats every step until someone acknowledges: the
    // deadline never becomes null while the incident is open.
    expect(state.incidents.open[incident.id].deadline).toBe(T0 + 3 * ACK);
    const again = tick(rules, state, T0 + 3 * ACK).outputs;
    expect(of(again, 'notify')).toEqual([
      { type: 'notify', incidentId: incident.id, village: 'v1', level: 'county', reason: 'escalated' },
    ]);
    expect(of(again, 'incident-escalated')[0]).toMatchObject({ level: 'county', dueAt: T0 + 3 * ACK });
    expect(nextDeadline(rules, state, T0 + 3 * ACK)).toBe(T0 + 4 * ACK);
    // A tick long after several missed repeats notifies once and keeps the rhythm.
    expect(of(tick(rules, state, T0 + 10 * ACK + 5).outputs, 'notify')).toHaveLength(1);
    expect(state.incidents.open[incident.id].deadline).toBe(T0 + 11 * ACK);
    acknowledge(rules, state, incident.id, 'county-zhou', T0 + 10 * ACK + 10);
    expect(state.incidents.open[incident.id].deadline).toBeNull();
    expect(of(tick(rules, state, T0 + 20 * ACK).outputs, 'incident-escalated')).toEqual([]);
  });

  it('a tick long after several deadlines notifies every missed level', () => {
    const { state } = openFall();
    const out = tick(rules, state, T0 + 5 * ACK).outputs;
    expect(of(out, 'incident-escalated').map((o) => [o.level, o.dueAt])).toEqual([
      ['town', T0 + ACK],
      ['county', T0 + 2 * ACK],
      // Missed repeats after the county collapse into one notification.
      ['county', T0 + 3 * ACK],
    ]);
  });

  it('serialize, JSON round trip, restore, tick at the deadline: still escalates', () => {
    const { state, incident } = openFall();
    const json = serializeState(state);
    const restored = restoreState(JSON.stringify(JSON.parse(json)));
    expect(restored).toEqual(state);
    const deadline = nextDeadline(rules, restored, T0 + 1000);
    expect(deadline).toBe(T0 + ACK);
    const out = tick(rules, restored, deadline as number).outputs;
    expect(of(out, 'incident-escalated')).toMatchObject([{ incidentId: incident.id, level: 'town' }]);
  });

  it('restoreState rejects what is not a saved state', () => {
    expect(() => restoreState('{')).toThrow(RulesError);
    expect(() => restoreState('{"format":"other"}')).toThrow(/state.format/);
    expect(() => restoreState('{"format":"village-rules/1"}')).toThrow(/state.alerts/);
  });

  it('a late event opens its incident marked late, with its delay, deadline from receipt', () => {
    const received = T0 + 3_600_000;
    const eventTs = received - 2 * 3_600_000;
    const state = createState(rules, T0);
    const out = step(rules, state, event('wb3', 'sos', eventTs), received).outputs;
    const inc = of(out, 'incident-opened')[0].incident;
    expect(inc).toMatchObject({ late: true, delayMs: 2 * 3_600_000, eventAt: eventTs, openedAt: received });
    expect(inc.deadline).toBe(received + ACK);
    expect(inc.audit[0].detail).toMatch(/late by 7200000 ms/);
    expect(tick(rules, state, received + ACK - 1).outputs).toEqual([]);
  });

  it('acknowledging before the deadline stops escalation and records the first response', () => {
    const { state, incident } = openFall();
    const ack = acknowledge(rules, state, incident.id, 'officer-li', T0 + ACK - 1).outputs;
    expect(of(ack, 'incident-acknowledged')[0]).toMatchObject({
      actor: 'officer-li',
      firstResponseMs: ACK - 1,
    });
    // What is left due is the fall alert's quiet-clear, not an escalation.
    expect(nextDeadline(rules, state, T0 + ACK)).toBe(T0 + 1_800_000);
    expect(of(tick(rules, state, T0 + 10 * ACK).outputs, 'incident-escalated')).toEqual([]);
    const done = resolve(
      rules,
      state,
      incident.id,
      'officer-li',
      { outcome: 'handled_on_site', note: 'helped up, no injury' },
      T0 + 20 * ACK,
    ).outputs;
    const resolved = of(done, 'incident-resolved')[0].incident;
    expect(resolved.status).toBe('resolved');
    expect(resolved.outcome).toBe('handled_on_site');
    expect(state.incidents.open).toEqual({});
    expect(resolved.audit.map((a) => [a.action, a.actor, a.at])).toEqual([
      ['opened', 'system', T0],
      ['acknowledged', 'officer-li', T0 + ACK - 1],
      ['resolved', 'officer-li', T0 + 20 * ACK],
    ]);
    expect(resolved.audit[2].detail).toBe('helped up, no injury');
  });

  it('audits escalations and notifies every level reached when acknowledged', () => {
    const { state, incident } = openFall();
    tick(rules, state, T0 + ACK);
    const out = acknowledge(rules, state, incident.id, 'town-wang', T0 + ACK + 5000).outputs;
    expect(of(out, 'notify').map((n) => n.level)).toEqual(['village', 'town']);
    const audit = state.incidents.open[incident.id].audit;
    expect(audit[1]).toEqual({
      at: T0 + ACK,
      actor: 'system',
      action: 'escalated',
      detail: `to town, due at ${T0 + ACK}`,
    });
    expect(audit[2]).toEqual({ at: T0 + ACK + 5000, actor: 'town-wang', action: 'acknowledged' });
  });

  it('refuses wrong transitions with typed errors', () => {
    const { state, incident } = openFall();
    const closing = { outcome: 'other', note: 'note' } as const;
    expect(() => resolve(rules, state, incident.id, 'x', closing, T0)).toThrow(/acknowledge it first/);
    expect(() => acknowledge(rules, state, 'inc-999', 'x', T0)).toThrow(RulesError);
    expect(() => acknowledge(rules, state, incident.id, ' ', T0)).toThrow(/actor/);
    acknowledge(rules, state, incident.id, 'a', T0);
    expect(() => acknowledge(rules, state, incident.id, 'a', T0)).toThrow(/acknowledged/);
    try {
      resolve(rules, state, incident.id, 'a', { outcome: 'other', note: '' }, T0);
      expect.unreachable();
    } catch (err) {
      expect((err as RulesError).code).toBe('missing_note');
    }
    // Closing needs an outcome too: 误报, 已到场处置, 送医 or 其他.
    const noOutcome = { outcome: 'fixed', note: 'gate checked' } as unknown as typeof closing;
    try {
      resolve(rules, state, incident.id, 'a', noOutcome, T0);
      expect.unreachable();
    } catch (err) {
      expect((err as RulesError).code).toBe('missing_outcome');
    }
    expect(state.incidents.open[incident.id].status).toBe('acknowledged');
  });

  // This test used to assert that another person's SOS joins the first person's fall because it
  // is in the same village: that was the bug of issue 15 (different people never merge).
  it("another person's SOS in the same village is its own incident; the same person's joins", () => {
    const { state, incident } = openFall();
    const sos = step(rules, state, event('wb2', 'sos', T0 + 60_000), T0 + 60_000).outputs;
    expect(of(sos, 'incident-joined')).toEqual([]);
    const own = of(sos, 'incident-opened')[0].incident;
    expect(own).toMatchObject({ village: 'v1', people: ['p2'], subject: 'person:p2', kind: 'elder.sos' });
    expect(own.id).not.toBe(incident.id);
    expect(state.incidents.open[incident.id].people).toEqual(['p1']);
    // The same person's SOS is about the same subject: it joins (and, being life safety, re-arms).
    const mine = step(rules, state, event('wb1', 'sos', T0 + 90_000), T0 + 90_000).outputs;
    expect(of(mine, 'incident-opened')).toEqual([]);
    expect(of(mine, 'incident-joined')[0]).toMatchObject({
      incidentId: incident.id,
      alertKey: 'elder.sos|p1',
    });
    // Another village opens its own incident.
    const smoke = step(rules, state, event('smoke1', 'smoke', T0 + 61_000), T0 + 61_000).outputs;
    expect(of(smoke, 'incident-opened')[0].incident).toMatchObject({ village: 'v2', devices: ['smoke1'] });
  });

  it('an alert of the same subject after the correlation window (event time) opens a new incident', () => {
    const { state, incident } = openFall();
    const later = T0 + 600_001;
    const out = step(rules, state, event('wb1', 'sos', later), later).outputs;
    expect(of(out, 'incident-opened')[0].incident.id).not.toBe(incident.id);
  });

  it('a storm of 1,000 SOS presses is one alert with count 1,000 and one incident', () => {
    const state = createState(rules, T0);
    const outs: RulesOutput[] = [];
    for (let i = 0; i < 1000; i++)
      outs.push(...step(rules, state, event('wb1', 'sos', T0 + i), T0 + i).outputs);
    expect(of(outs, 'alert-raised')).toHaveLength(1);
    expect(of(outs, 'incident-opened')).toHaveLength(1);
    expect(state.alerts['elder.sos|p1'].count).toBe(1000);
    expect(of(outs, 'notify')).toHaveLength(1);
  });

  it('a quiet fall alert clears after eventQuietMs so a later fall is a new alert', () => {
    const { state, incident } = openFall();
    acknowledge(rules, state, incident.id, 'officer-li', T0 + 1000);
    const quiet = T0 + 1_800_000;
    expect(nextDeadline(rules, state, T0 + 3 * ACK)).toBe(quiet);
    const out = tick(rules, state, quiet).outputs;
    expect(of(out, 'alert-cleared').map((o) => o.key)).toEqual(['elder.fall|p1']);
  });
});
