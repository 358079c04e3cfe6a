import type { DeviceEvent } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import {
  type RulesOutput,
  acknowledge,
  arrive,
  compileRules,
  createState,
  incidentSubject,
  nextDeadline,
  resolve,
  step,
  tick,
} from '../src/index.js';
import { person } from './people-fixture.js';

/**
 * Issue 15, the demo story: the camera's intrusion at 02:30 and 张伟's fall at 09:12 (China time)
 * were delivered 33 s apart by the compressed demo day, and the fall joined the intrusion's
 * incident. Incidents now have one subject and correlate on event time.
 */
const ACK = 180_000;
const at = (hhmm: string) => Date.parse(`2026-05-01T${hhmm}:00+08:00`);
const rules = compileRules({
  people: [
    person('p-0001', 'v1', 'band-1', { station: 's1' }),
    person('p-0002', 'v1', 'band-2', { station: 's1' }),
  ],
  devices: { 'cam-gate': { village: 'v1', station: 's1' }, smoke1: { village: 'v1', station: 's1' } },
  elderCare: { reportIntervalMs: 86_400_000, noMovementMs: 86_400_000 },
});

function event(device: string, type: string, ts: number): { kind: 'event'; event: DeviceEvent } {
  return { kind: 'event', event: { device, type, severity: 'critical', ts, data: {} } };
}
const of = <T extends RulesOutput['type']>(outs: RulesOutput[], type: T) =>
  outs.filter((o): o is Extract<RulesOutput, { type: T }> => o.type === type);

describe('incident subject and correlation (issue 15)', () => {
  it('the 02:30 intrusion and the 09:12 fall are two incidents; the fall escalates after the intrusion is acknowledged', () => {
    const R = at('09:20');
    const state = createState(rules, R);
    const intrusion = of(
      step(rules, state, event('cam-gate', 'intrusion', at('02:30')), R).outputs,
      'incident-opened',
    );
    expect(intrusion).toHaveLength(1);
    acknowledge(rules, state, intrusion[0].incident.id, 'officer-li', R + 10_000);
    const fallOut = step(rules, state, event('band-1', 'fall', at('09:12')), R + 33_000).outputs;
    expect(of(fallOut, 'incident-joined')).toEqual([]);
    const fall = of(fallOut, 'incident-opened')[0].incident;
    expect(fall).toMatchObject({ kind: 'elder.fall', subject: 'person:p-0001', people: ['p-0001'] });
    expect(fall.deadline).toBe(R + 33_000 + ACK);
    const esc = of(tick(rules, state, R + 33_000 + ACK).outputs, 'incident-escalated');
    expect(esc).toEqual([
      {
        type: 'incident-escalated',
        incidentId: fall.id,
        level: 'town',
        dueAt: R + 33_000 + ACK,
        at: R + 33_000 + ACK,
      },
    ]);
    // Resolving the intrusion ("gate checked") leaves the fall open.
    resolve(
      rules,
      state,
      intrusion[0].incident.id,
      'officer-li',
      { outcome: 'false_alarm', note: 'gate checked' },
      R + 400_000,
    );
    expect(state.incidents.open[fall.id]?.status).toBe('open');
  });

  it('correlation uses event time: alerts received seconds apart but hours apart in data time do not join', () => {
    const R = at('12:00');
    const state = createState(rules, R);
    const a = of(step(rules, state, event('band-1', 'fall', at('09:00')), R).outputs, 'incident-opened');
    const b = of(
      step(rules, state, event('band-1', 'sos', at('11:00')), R + 1_000).outputs,
      'incident-opened',
    );
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(b[0].incident.id).not.toBe(a[0].incident.id);
  });

  it('different kinds of the same device never merge; the same station close in time is one situation', () => {
    const R = at('12:00');
    const state = createState(rules, R);
    const i1 = of(step(rules, state, event('cam-gate', 'intrusion', R), R).outputs, 'incident-opened')[0]
      .incident;
    const i2 = of(
      step(rules, state, event('cam-gate', 'smoke', R + 1_000), R + 1_000).outputs,
      'incident-opened',
    )[0].incident;
    const i3 = of(
      step(rules, state, event('band-2', 'sos', R + 2_000), R + 2_000).outputs,
      'incident-opened',
    )[0].incident;
    expect(new Set([i1.id, i2.id, i3.id]).size).toBe(3);
    // Linked, none hidden: each keeps its own deadline.
    expect([i1.situation, i2.situation, i3.situation]).toEqual([i1.id, i1.id, i1.id]);
    expect(Object.keys(state.incidents.open)).toHaveLength(3);
    expect(
      incidentSubject({
        rule: 'pm25-high',
        metric: 'pm25',
        subject: { village: 'v1', station: 's1', device: 'aq1' },
      }),
    ).toBe('station:s1|pm25');
  });

  it('an incident has a maximum duration: a repeat 4 h after it began opens a new incident', () => {
    const R = at('08:00');
    const state = createState(rules, R);
    const first = of(step(rules, state, event('cam-gate', 'intrusion', R), R).outputs, 'incident-opened')[0]
      .incident;
    let opened = 0;
    // A repeat every 5 minutes keeps the same alert (identity = rule + subject) and the same incident...
    for (let t = R + 300_000; t <= R + 4 * 3_600_000 + 300_000; t += 300_000) {
      opened += of(
        step(rules, state, event('cam-gate', 'intrusion', t), t).outputs,
        'incident-opened',
      ).length;
      if (t <= R + 4 * 3_600_000) expect(opened).toBe(0);
    }
    // ...until the incident's maximum duration has passed.
    expect(opened).toBe(1);
    expect(state.alerts['event.intrusion|cam-gate'].count).toBeGreaterThan(40);
    expect(Object.keys(state.incidents.open)).toContain(first.id);
  });

  it('repeats of one alert stay with its incident whatever the correlation window', () => {
    const tight = compileRules({
      devices: { 'cam-gate': { village: 'v1', station: 's1' } },
      incidents: { correlationWindowMs: 0 },
    });
    const R = at('10:00');
    const state = createState(tight, R);
    let opened = 0;
    for (let k = 0; k < 30; k++)
      opened += of(
        step(tight, state, event('cam-gate', 'intrusion', R + k * 1_000), R + k * 1_000).outputs,
        'incident-opened',
      ).length;
    expect(opened).toBe(1);
  });

  it('a repeat of an alert whose incident was resolved opens a new incident', () => {
    const R = at('10:00');
    const state = createState(rules, R);
    const first = of(step(rules, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0]
      .incident;
    acknowledge(rules, state, first.id, 'officer-li', R + 1_000);
    resolve(
      rules,
      state,
      first.id,
      'officer-li',
      { outcome: 'handled_on_site', note: 'helped up' },
      R + 2_000,
    );
    // The fall alert is still active (it clears after 30 quiet minutes): a new fall repeats it.
    const again = step(rules, state, event('band-1', 'fall', R + 300_000), R + 300_000).outputs;
    expect(of(again, 'alert-repeated')).toHaveLength(1);
    expect(of(again, 'incident-opened')).toHaveLength(1);
  });
});

describe('life safety first (issue 15)', () => {
  it('a second fall within 30 min re-arms an acknowledged incident, notifies again and raises priority', () => {
    const R = at('10:00');
    const state = createState(rules, R);
    const inc = of(step(rules, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0].incident;
    expect(inc.priority).toBe(1);
    acknowledge(rules, state, inc.id, 'officer-li', R + 60_000);
    expect(state.incidents.open[inc.id].deadline).toBeNull();
    const second = step(rules, state, event('band-1', 'fall', R + 600_000), R + 600_000).outputs;
    expect(of(second, 'alert-repeated')).toHaveLength(1);
    expect(of(second, 'incident-rearmed')).toEqual([
      {
        type: 'incident-rearmed',
        incidentId: inc.id,
        alertKey: 'elder.fall|p-0001',
        priority: 2,
        at: R + 600_000,
      },
    ]);
    expect(of(second, 'notify')).toEqual([
      { type: 'notify', incidentId: inc.id, village: 'v1', level: 'village', reason: 'rearmed' },
    ]);
    const live = state.incidents.open[inc.id];
    expect(live).toMatchObject({ status: 'open', priority: 2, deadline: R + 600_000 + ACK });
    // Unanswered again, it escalates.
    expect(of(tick(rules, state, R + 600_000 + ACK).outputs, 'incident-escalated')[0]).toMatchObject({
      incidentId: inc.id,
      level: 'town',
    });
    // The officer acknowledges again; the first response stays the first, the re-arm has its own.
    acknowledge(rules, state, inc.id, 'town-wang', R + 600_000 + ACK + 5_000);
    expect(state.incidents.open[inc.id].firstResponseMs).toBe(60_000);
    expect(state.incidents.open[inc.id].responses.map((r) => r.responseMs)).toEqual([60_000, ACK + 5_000]);
  });

  it('a repeat of an unacknowledged fall notifies again but never postpones its escalation', () => {
    const R = at('10:00');
    const state = createState(rules, R);
    const inc = of(step(rules, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0].incident;
    const again = step(rules, state, event('band-1', 'fall', R + 120_000), R + 120_000).outputs;
    expect(of(again, 'notify').map((n) => n.reason)).toEqual(['rearmed']);
    expect(state.incidents.open[inc.id]).toMatchObject({ priority: 2, deadline: R + ACK });
    expect(of(tick(rules, state, R + ACK).outputs, 'incident-escalated')).toHaveLength(1);
  });

  it('an SOS of the same person joining an acknowledged fall incident re-arms it', () => {
    const R = at('10:00');
    const state = createState(rules, R);
    const inc = of(step(rules, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0].incident;
    acknowledge(rules, state, inc.id, 'officer-li', R + 30_000);
    const sos = step(rules, state, event('band-1', 'sos', R + 120_000), R + 120_000).outputs;
    expect(of(sos, 'incident-joined')).toHaveLength(1);
    expect(of(sos, 'incident-rearmed')).toHaveLength(1);
    expect(state.incidents.open[inc.id]).toMatchObject({ status: 'open', deadline: R + 120_000 + ACK });
  });
});

describe('the optional "arrived on scene" step (issue 15)', () => {
  const withArrival = compileRules({
    people: [person('p-0001', 'v1', 'band-1', { station: 's1' })],
    elderCare: { reportIntervalMs: 86_400_000, noMovementMs: 86_400_000 },
    incidents: { arrivalTimeoutMs: 900_000 },
  });

  it('after an acknowledgement the level above is told once if nobody reports arriving in time', () => {
    const R = at('10:00');
    const state = createState(withArrival, R);
    const inc = of(step(withArrival, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0]
      .incident;
    acknowledge(withArrival, state, inc.id, 'officer-li', R + 60_000);
    expect(nextDeadline(withArrival, state, R + 60_000)).toBe(R + 60_000 + 900_000);
    expect(tick(withArrival, state, R + 60_000 + 899_999).outputs).toEqual([]);
    const late = tick(withArrival, state, R + 960_000).outputs;
    expect(of(late, 'notify')).toEqual([
      { type: 'notify', incidentId: inc.id, village: 'v1', level: 'town', reason: 'arrival_overdue' },
    ]);
    expect(of(tick(withArrival, state, R + 2_000_000).outputs, 'notify')).toEqual([]);
    const arrived = arrive(withArrival, state, inc.id, 'officer-li', R + 1_000_000).outputs;
    expect(of(arrived, 'incident-arrived')[0]).toMatchObject({ arrivalMs: 940_000 });
    expect(state.incidents.open[inc.id]).toMatchObject({ arrivedBy: 'officer-li', arrivalMs: 940_000 });
    expect(() => arrive(withArrival, state, inc.id, 'officer-li', R + 1_000_001)).toThrow(/already/);
  });

  it('arriving in time stops the arrival timer; without the option there is no timer', () => {
    const R = at('10:00');
    const state = createState(withArrival, R);
    const inc = of(step(withArrival, state, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0]
      .incident;
    expect(() => arrive(withArrival, state, inc.id, 'officer-li', R + 1)).toThrow(/open/);
    acknowledge(withArrival, state, inc.id, 'officer-li', R + 60_000);
    arrive(withArrival, state, inc.id, 'officer-li', R + 600_000);
    expect(of(tick(withArrival, state, R + 5_000_000).outputs, 'notify')).toEqual([]);
    const plain = createState(rules, R);
    const other = of(step(rules, plain, event('band-1', 'fall', R), R).outputs, 'incident-opened')[0]
      .incident;
    acknowledge(rules, plain, other.id, 'officer-li', R + 60_000);
    expect(plain.incidents.open[other.id].arrivalDeadline).toBeNull();
  });
});
