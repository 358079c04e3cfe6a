import { describe, expect, it } from 'vitest';
import { type Incident, median, percentile, slaByPlace, slaByVillage } from '../src/index.js';

const T0 = Date.parse('2026-05-01T02:00:00Z');

function incident(village: string, openedAt: number, responseMs: number | null, late = false): Incident {
  return {
    id: `${village}-${openedAt}`,
    village,
    station: null,
    subject: `person:${village}`,
    kind: 'elder.fall',
    situation: `${village}-${openedAt}`,
    status: responseMs === null ? 'open' : 'acknowledged',
    severity: 'critical',
    priority: 1,
    alerts: [],
    people: [],
    devices: [],
    openedAt,
    eventAt: openedAt,
    lastEventAt: openedAt,
    lastRearmEventAt: openedAt,
    late,
    delayMs: 0,
    lastAlertAt: openedAt,
    level: 0,
    levelName: 'village',
    deadline: null,
    acknowledgedAt: responseMs === null ? null : openedAt + responseMs,
    acknowledgedBy: responseMs === null ? null : 'officer',
    firstResponseMs: responseMs,
    responses: [],
    arrivedAt: null,
    arrivedBy: null,
    arrivalMs: null,
    arrivalDeadline: null,
    resolvedAt: null,
    resolvedBy: null,
    outcome: null,
    note: null,
    audit: [],
  };
}

describe('SLA statistics', () => {
  it('share within 3 minutes, median and p90 per village', () => {
    const secs = [30, 60, 90, 120, 150, 170, 180, 200, 240, 600];
    const list = secs.map((s, i) => incident('v1', T0 + i, s * 1000, i === 0));
    list.push(incident('v2', T0, 10_000));
    const [v1, v2] = slaByVillage(list, { now: T0 + 3_600_000 });
    expect(v1).toEqual({
      village: 'v1',
      incidents: 10,
      judged: 10,
      acknowledgedWithinTarget: 7, // 180 s exactly is within
      shareWithinTarget: 0.7,
      medianResponseMs: 160_000,
      p90ResponseMs: 240_000,
      late: 1,
    });
    expect(v2).toMatchObject({
      village: 'v2',
      shareWithinTarget: 1,
      medianResponseMs: 10_000,
      p90ResponseMs: 10_000,
    });
  });
  it('an unacknowledged incident counts as missed only once its target has passed', () => {
    const list = [incident('v1', T0, null), incident('v1', T0, 60_000)];
    expect(slaByVillage(list, { now: T0 + 100_000 })[0]).toMatchObject({ judged: 1, shareWithinTarget: 1 });
    expect(slaByVillage(list, { now: T0 + 180_001 })[0]).toMatchObject({ judged: 2, shareWithinTarget: 0.5 });
    expect(slaByVillage([incident('v1', T0, null)], { now: T0 })[0]).toMatchObject({
      shareWithinTarget: null,
      medianResponseMs: null,
      p90ResponseMs: null,
    });
  });
  it('nearest-rank percentile and median', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([5], 90)).toBe(5);
    expect(percentile([], 90)).toBeNull();
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
  });
});

describe('SLA per village, town and county, joined alerts included', () => {
  it('counts every response, including a joined alert and a re-arm, at each level', () => {
    const a = incident('v1', T0, 60_000);
    a.responses = [
      { alert: 'elder.fall|p1', at: T0, respondedAt: T0 + 60_000, responseMs: 60_000 },
      // A fall that re-armed it, answered after 4 min: missed.
      { alert: 'elder.fall|p1', at: T0 + 600_000, respondedAt: T0 + 840_000, responseMs: 240_000 },
    ];
    const b = incident('v2', T0, null);
    b.responses = [{ alert: 'elder.sos|p2', at: T0, respondedAt: null, responseMs: null }];
    const places = new Map([
      ['v1', { village: 'v1', town: 't1', county: 'c1' }],
      ['v2', { village: 'v2', town: 't2', county: 'c1' }],
    ]);
    const rows = slaByPlace([a, b], (v) => places.get(v), { now: T0 + 3_600_000 });
    expect(rows.map((r) => [r.level, r.place, r.responses, r.judged, r.acknowledgedWithinTarget])).toEqual([
      ['village', 'v1', 2, 2, 1],
      ['village', 'v2', 1, 1, 0],
      ['town', 't1', 2, 2, 1],
      ['town', 't2', 1, 1, 0],
      ['county', 'c1', 3, 3, 1],
    ]);
    expect(rows.find((r) => r.place === 'c1')).toMatchObject({ incidents: 2, medianResponseMs: 150_000 });
  });
});
