import { join } from 'node:path';
import type { Reading } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const UG = 'µg/m³';
const r = (
  device: string,
  metric: string,
  value: number,
  ts: number,
  unit = UG,
  quality: Reading['quality'] = 'good',
): Reading => ({
  device,
  metric,
  value,
  unit,
  ts,
  quality,
});

/**
 * Quality control wired into a real cloud (embedded broker, SQLite sink, HTTP API): each check of
 * @village/rules flags committed readings, the flag is stored beside the reading in the sink and in
 * cloud.db, and flagged readings raise no alert.
 */
describe('quality control in the cloud', () => {
  let t: Awaited<ReturnType<typeof startRulesCloud>>;
  let edge: MqttClient;
  let acks: Awaited<ReturnType<typeof collectAcks>>;
  let seq = 0;
  let db: Database.Database;

  const send = async (readings: Reading[]) => {
    seq++;
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', seq, 0, { readings }));
    await waitForAck(acks, seq);
  };
  /** The flag the SQLite sink holds beside the reading (NULL = N). */
  const sinkFlag = (device: string, metric: string, ts: number) =>
    (
      db
        .prepare(
          'SELECT r.flag FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = ? AND s.metric = ? AND r.ts = ?',
        )
        .get(device, metric, ts) as { flag: string | null } | undefined
    )?.flag;
  const flagged = async (device: string, flag: string, ts: number, metric = 'pm25') => {
    await waitFor(
      `${device} ${metric}@${ts} flagged ${flag} in the sink`,
      () => sinkFlag(device, metric, ts) === flag,
    );
    const { body } = await t.api<{ flags: { ts: number; flag: string; reasons: { code: string }[] }[] }>(
      `/api/v1/quality/flags?device=${device}&metric=${metric}`,
    );
    return body.flags.find((f) => f.ts === ts);
  };
  const alertsOf = async (device: string) => {
    const { body } = await t.api<{ alerts: { device: string | null }[] }>('/api/v1/alerts');
    return body.alerts.filter((a) => a.device === device);
  };

  beforeAll(async () => {
    t = await startRulesCloud({
      rules: {
        thresholds: [{ id: 'pm25-high', metric: 'pm25', direction: 'above', level: 100, clearLevel: 80 }],
        incidents: { ackDeadlineMs: 600_000 },
        persistIntervalMs: 0,
        quality: {
          profiles: {
            optical: {
              metrics: {
                pm25: {
                  ranges: [{ unit: UG, min: 0, max: 1000 }],
                  spike: { delta: 200, withinMs: 600_000 },
                  flatline: { count: 4, minMs: 180_000 },
                },
              },
              opticalPm: {
                humidityMetric: 'humidity',
                maxHumidity: 95,
                pmMetrics: ['pm25'],
                maxAgeMs: 600_000,
              },
            },
            probe: {
              metrics: {},
              status: {
                metric: 'probe_status',
                okValues: [0],
                maintenanceValues: [2],
                calibrationValues: [3],
                maxAgeMs: 600_000,
              },
            },
          },
          devices: {
            'pm-spike': { profile: 'optical' },
            'pm-flat': { profile: 'optical' },
            'pm-wet': { profile: 'optical' },
            'wq-1': { profile: 'probe' },
          },
        },
      },
    });
    edge = await t.connectEdge();
    acks = await collectAcks(edge, 'edge-1');
    db = new Database(join(t.dir, 'data', 'cloud.db'), { readonly: true });
  }, 60_000);

  afterAll(async () => {
    db?.close();
    await t?.stop();
  });

  it('a negative concentration is flagged Q in the sink and cloud.db, the good one beside it is N', async () => {
    await send([r('pm-neg', 'pm25', -3, T0), r('pm-neg', 'pm10', 40, T0)]);
    const f = await flagged('pm-neg', 'Q', T0);
    expect(f?.reasons.map((x) => x.code)).toContain('negative');
    expect(sinkFlag('pm-neg', 'pm10', T0)).toBeNull();
  });

  it('above the measuring range is flagged T and raises no alert; a real high value does', async () => {
    await send([r('pm-range', 'pm25', 1500, T0 + 1000)]);
    await flagged('pm-range', 'T', T0 + 1000);
    expect(await alertsOf('pm-range')).toHaveLength(0);
    // (with a PM10 above it: the station's PM10 of the other tests would make it fail the PM pair check)
    await send([r('pm-range', 'pm10', 500, T0 + 2000), r('pm-range', 'pm25', 300, T0 + 2000)]);
    await waitFor('the alert of a good high value', async () => (await alertsOf('pm-range')).length === 1);
  });

  it('CO sent in µg/m³ is refused as an unknown unit (Q)', async () => {
    await send([r('co-1', 'co', 800, T0, UG)]);
    const f = await flagged('co-1', 'Q', T0, 'co');
    expect(f?.reasons.map((x) => x.code)).toEqual(['unit_unknown']);
  });

  it('a spike against the last good value is flagged Q and raises no alert', async () => {
    await send([r('pm-spike', 'pm25', 20, T0), r('pm-spike', 'pm25', 400, T0 + 60_000)]);
    const f = await flagged('pm-spike', 'Q', T0 + 60_000);
    expect(f?.reasons.map((x) => x.code)).toContain('spike');
    expect(sinkFlag('pm-spike', 'pm25', T0)).toBeNull();
    expect(await alertsOf('pm-spike')).toHaveLength(0);
  });

  it('a flatline (4 identical values over 3 minutes) is flagged from the 4th value on', async () => {
    await send([0, 1, 2, 3].map((i) => r('pm-flat', 'pm25', 37, T0 + i * 60_000)));
    const f = await flagged('pm-flat', 'Q', T0 + 180_000);
    expect(f?.reasons.map((x) => x.code)).toEqual(['flatline']);
    expect(sinkFlag('pm-flat', 'pm25', T0 + 120_000)).toBeNull();
  });

  it('PM2.5 above PM10 at one station is flagged Q', async () => {
    await send([r('pm-pair', 'pm10', 50, T0 + 5000), r('pm-pair', 'pm25', 80, T0 + 5000)]);
    const f = await flagged('pm-pair', 'Q', T0 + 5000);
    expect(f?.reasons.map((x) => x.code)).toContain('pm25_above_pm10');
  });

  it('PM of an optical sensor at high humidity is flagged Q', async () => {
    await send([r('pm-wet', 'humidity', 98, T0, '%'), r('pm-wet', 'pm25', 60, T0)]);
    const f = await flagged('pm-wet', 'Q', T0);
    expect(f?.reasons.map((x) => x.code)).toContain('high_humidity');
  });

  it("a probe's status word flags its readings M (maintenance) or D (fault)", async () => {
    await send([r('wq-1', 'probe_status', 2, T0, ''), r('wq-1', 'ph', 7.1, T0, '')]);
    await flagged('wq-1', 'M', T0, 'ph');
    await send([r('wq-1', 'probe_status', 9, T0 + 60_000, ''), r('wq-1', 'ph', 7.2, T0 + 60_000, '')]);
    await flagged('wq-1', 'D', T0 + 60_000, 'ph');
  });

  it('a reading the device marked suspect is flagged Q', async () => {
    await send([r('pm-sus', 'pm25', 20, T0, UG, 'suspect')]);
    await flagged('pm-sus', 'Q', T0);
  });

  it('a calibration window set through the API flags readings C, stored and later, and is audited', async () => {
    await send([r('pm-cal', 'pm25', 20, T0)]);
    const set = await t.api<{ window: { id: string } }>('/api/v1/quality/windows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'calibration',
        device: 'pm-cal',
        from: T0 - 1000,
        to: T0 + 600_000,
        reason: 'zero check',
      }),
    });
    expect(set.status, JSON.stringify(set.body)).toBe(201);
    await flagged('pm-cal', 'C', T0);
    await send([r('pm-cal', 'pm25', 300, T0 + 60_000)]);
    await flagged('pm-cal', 'C', T0 + 60_000);
    expect(await alertsOf('pm-cal')).toHaveLength(0);
    const { body } = await t.api<{ audit: { action: string; reason: string }[] }>(
      '/api/v1/quality/audit?device=pm-cal',
    );
    expect(body.audit.map((a) => a.action)).toContain('window_set');
  });

  it('an officer invalidates a range (I) and restores it (N), each audited with actor and reason', async () => {
    await send([r('pm-off', 'pm25', 30, T0), r('pm-off', 'pm25', 31, T0 + 60_000)]);
    await waitFor('readings stored', () => sinkFlag('pm-off', 'pm25', T0 + 60_000) === null);
    const post = (action: string, reason: string) =>
      t.api<{ change: { readings: number } }>(`/api/v1/quality/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ device: 'pm-off', metric: 'pm25', from: T0, to: T0 + 120_000, reason }),
      });
    const inv = await post('invalidate', 'sensor was in the sun');
    expect(inv.body.change.readings).toBe(2);
    await flagged('pm-off', 'I', T0);
    // A reading arriving (or replayed) later inside the range is invalid, too, and raises nothing.
    await send([r('pm-off', 'pm25', 500, T0 + 90_000)]);
    await flagged('pm-off', 'I', T0 + 90_000);
    expect(await alertsOf('pm-off')).toHaveLength(0);
    const res = await post('restore', 'checked against the reference station');
    expect(res.body.change.readings).toBe(3);
    await waitFor('restored in the sink', () => sinkFlag('pm-off', 'pm25', T0) === null);
    const { body } = await t.api<{ audit: { action: string; actor: string; reason: string; at: number }[] }>(
      '/api/v1/quality/audit?device=pm-off',
    );
    const officer = body.audit.filter((a) => a.action !== 'auto');
    expect(officer.map((a) => [a.action, a.actor, a.reason])).toEqual([
      ['restore', 'anonymous', 'checked against the reference station'],
      ['invalidate', 'anonymous', 'sensor was in the sun'],
    ]);
    const noReason = await t.api<{ error: { code: string } }>('/api/v1/quality/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'pm-off', from: T0, to: T0 + 1 }),
    });
    expect(noReason.status).toBe(400);
  });
});
