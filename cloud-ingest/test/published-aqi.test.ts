import type { Reading } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const H = 3_600_000;
const M = 60_000;
const UG = 'µg/m³';
/** T0 is 2026-01-15 08:00 UTC = 16:00 China time; the hour after it is a past, complete clock hour. */
const HOUR = T0;

/** 12 five-minute readings of one metric in the hour starting at `hour`. */
const hourOf = (device: string, metric: string, hour: number, value: number, unit = UG): Reading[] =>
  Array.from({ length: 12 }, (_, i) => ({
    device,
    metric,
    value,
    unit,
    ts: hour + i * 5 * M,
    quality: 'good',
  }));

interface Row {
  station: string;
  start: number;
  aqi: number | null;
  levelZh: string | null;
  primary: string[];
  iaqi: Record<string, number | null>;
  concentrations: Record<string, number>;
  flagged: number;
  publishedAt: number;
  means: Record<string, Record<string, { value: number | null; n: number }>>;
}

/**
 * The published AQI in a real cloud: readings of a past hour through MQTT → hourly AQI published
 * (cloud.db and the sink's series) → API; an invalidated hour changes the published AQI and is
 * audited; a replayed batch changes nothing.
 */
describe('published hourly AQI', () => {
  let t: Awaited<ReturnType<typeof startRulesCloud>>;
  let edge: MqttClient;
  let acks: Awaited<ReturnType<typeof collectAcks>>;
  let seq = 0;
  const send = async (readings: Reading[], again?: number) => {
    const s = again ?? ++seq;
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', s, 0, { readings }));
    if (again === undefined) await waitForAck(acks, s);
  };
  const hourly = async () =>
    (await t.api<{ aqi: Row[] }>(`/api/v1/aqi/hourly?station=s1&from=${HOUR}&to=${HOUR + 1}`)).body.aqi[0];

  beforeAll(async () => {
    t = await startRulesCloud({ rules: { aqi: { graceMs: 0, publishEveryMs: 100 } } });
    edge = await t.connectEdge();
    acks = await collectAcks(edge, 'edge-1');
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('publishes the hour: PM on the 24-h rows from hourly means, rounded, with level and primary pollutant', async () => {
    await send([...hourOf('aq-1', 'pm25', HOUR, 75.3), ...hourOf('aq-1', 'pm10', HOUR, 90)]);
    const row = await waitFor('the hourly AQI of the hour', hourly);
    expect(row).toMatchObject({
      station: 's1',
      start: HOUR,
      aqi: 100,
      levelZh: '良',
      primary: ['PM2.5'],
      concentrations: { 'PM2.5_24h': 75, PM10_24h: 90 },
      iaqi: { 'PM2.5_24h': 100, PM10_24h: 70 },
      flagged: 0,
    });
    // Stored as series in the sink too.
    const series = await t.api<{ buckets: { mean: number }[] }>(
      `/api/v1/series?device=${encodeURIComponent('aqi:s1')}&metric=aqi_1h&from=${HOUR}&to=${HOUR + H}&step=1h`,
    );
    expect(series.body.buckets?.map((b) => b.mean)).toEqual([100]);
    const latest = await t.api<{ aqi: Row[] }>('/api/v1/aqi/latest');
    expect(latest.body.aqi.map((r) => [r.station, r.start])).toEqual([['s1', HOUR]]);
  });

  it('a replayed batch (same seq) or a re-sent reading changes no mean', async () => {
    const before = await hourly();
    await send([...hourOf('aq-1', 'pm25', HOUR, 75.3), ...hourOf('aq-1', 'pm10', HOUR, 90)], seq);
    // A new batch repeating readings already held (a re-sent backlog) is not counted twice either.
    await send(hourOf('aq-1', 'pm25', HOUR, 75.3));
    // A new PM10 reading of the hour has the hour published again, with whatever it then holds.
    await send([{ device: 'aq-1', metric: 'pm10', value: 90, unit: UG, ts: HOUR + M, quality: 'good' }]);
    const after = await waitFor('the hour published again', async () => {
      const r = await hourly();
      return r && r.publishedAt > before!.publishedAt ? r : undefined;
    });
    expect(before!.means['PM2.5']!['1h']).toMatchObject({ n: 12 });
    expect(after.means['PM2.5']!['1h']).toEqual(before!.means['PM2.5']!['1h']);
    expect(after.means.PM10!['1h']).toMatchObject({ n: 13, value: 90 });
  });

  it('an invalidated hour changes the published AQI, counts as flagged, and is audited; a restore puts it back', async () => {
    const body = (reason: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-1' },
      body: JSON.stringify({ station: 's1', metric: 'pm25', from: HOUR, to: HOUR + H, reason }),
    });
    const before = await hourly();
    const inv = await t.api<{ change: { readings: number } }>(
      '/api/v1/quality/invalidate',
      body('sensor fouled'),
    );
    expect(inv.status).toBe(200);
    expect(inv.body.change.readings).toBe(12);
    const after = await waitFor('the hour published again', async () => {
      const r = await hourly();
      return r && r.publishedAt > before!.publishedAt ? r : undefined;
    });
    expect(after).toMatchObject({ aqi: 70, primary: ['PM10'], flagged: 12 });
    expect(after.iaqi['PM2.5_24h']).toBeUndefined();
    const audit = await t.api<{ audit: { action: string; reason: string; readings: number }[] }>(
      '/api/v1/quality/audit?station=s1',
    );
    expect(audit.body.audit[0]).toMatchObject({
      action: 'invalidate',
      reason: 'sensor fouled',
      readings: 12,
    });

    await t.api('/api/v1/quality/restore', body('cleaned and checked'));
    const back = await waitFor('the hour published after the restore', async () => {
      const r = await hourly();
      return r && r.publishedAt > after.publishedAt ? r : undefined;
    });
    expect(back).toMatchObject({ aqi: 100, flagged: 0 });
  });

  it('publishes the natural day: 24-hour means from 20 valid hours', async () => {
    // China's day 2026-01-16 is 2026-01-15 16:00 UTC to 2026-01-16 16:00 UTC.
    const day = Date.UTC(2026, 0, 15, 16);
    for (let h = 0; h < 20; h++) await send(hourOf('aq-2', 'pm10', day + h * H, 150));
    // The past day is published as soon as its first hours arrive, then again with each later one.
    const d = await waitFor('the daily AQI of the 20 hours', async () => {
      const r = (await t.api<{ aqi: Row[] }>(`/api/v1/aqi/daily?station=s1&from=${day}&to=${day + 1}`)).body
        .aqi[0];
      return r?.concentrations.PM10_24h !== undefined ? r : undefined;
    });
    expect(d).toMatchObject({ start: day, aqi: 100, concentrations: { PM10_24h: 150 } });
  });

  it('the monthly station report: days per level, days meeting the standard, primary pollutants, capture, flags, water class', async () => {
    // A water probe at the station: TP 0.15 (river class III) and one TP 2.0 an officer invalidates.
    const w = (metric: string, value: number, ts: number): Reading => ({
      device: 'wq-1',
      metric,
      value,
      unit: 'mg/L',
      ts,
      quality: 'good',
    });
    await send([
      w('ph', 7.2, HOUR),
      w('tp', 0.15, HOUR),
      w('tp', 0.15, HOUR + 10 * M),
      w('tp', 2, HOUR + 20 * M),
    ]);
    const inv = await t.api('/api/v1/quality/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        device: 'wq-1',
        metric: 'tp',
        from: HOUR + 20 * M,
        to: HOUR + 21 * M,
        reason: 'bubble in the cell',
      }),
    });
    expect(inv.status).toBe(200);
    const { status, body } = await t.api<{ report: Record<string, unknown> }>(
      '/api/v1/reports/monthly?station=s1&month=2026-01',
    );
    expect(status).toBe(200);
    expect(body.report).toMatchObject({
      station: 's1',
      month: '2026-01',
      days: 31,
      daysByLevel: { '1': 0, '2': 1, '3': 0, '4': 0, '5': 0, '6': 0 },
      daysWithoutAqi: 30,
      daysMeetingStandard: 1,
      shareMeetingStandard: 1,
      primaryPollutants: { PM10: 1 },
      hours: 744,
      hoursWithAqi: 21,
      flaggedByFlag: { I: 1 },
      water: { body: 'river', class: 3, means: { pH: 7.2, TP: 0.15 } },
    });
    const csv = await fetch(
      `http://127.0.0.1:${t.cloud.httpPort}/api/v1/reports/monthly?station=s1&month=2026-01&format=csv`,
    );
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await csv.text();
    expect(text.split('\r\n')).toContain('days meeting the standard (AQI ≤ 100),1');
    expect(text).toContain('data capture rate (hours),2.8%');
    const page = await fetch(
      `http://127.0.0.1:${t.cloud.httpPort}/api/v1/reports/monthly?station=s1&month=2026-01&format=html`,
    );
    expect(await page.text()).toContain('<td>water class of the month</td><td>III');
    const bad = await t.api<{ error: { code: string } }>('/api/v1/reports/monthly?station=s1&month=2026-13');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_param']);
  });
});
