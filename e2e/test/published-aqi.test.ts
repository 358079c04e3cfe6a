/// <reference lib="dom" />
import { type Reading, encodeBatch, topics } from '@village/protocol';
import { launchChromium, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICE_SCREEN, openPage, screenshot } from './harness/browser.js';
import { type Village, createVillage } from './harness/village.js';

const H = 3_600_000;
const PASSWORD = 'pw-edge-1-published-aqi';

/** 12 five-minute readings each of PM2.5 and PM10 in the hour starting at `hour`. */
const hourOfPm = (hour: number, pm25: number, pm10: number): Reading[] =>
  Array.from({ length: 12 }, (_, i) => [
    {
      device: 'aq-1',
      metric: 'pm25',
      value: pm25,
      unit: 'µg/m³',
      ts: hour + i * 300_000,
      quality: 'good' as const,
    },
    {
      device: 'aq-1',
      metric: 'pm10',
      value: pm10,
      unit: 'µg/m³',
      ts: hour + i * 300_000,
      quality: 'good' as const,
    },
  ]).flat();

interface Row {
  start: number;
  aqi: number | null;
  flagged: number;
}

/**
 * Issue 16, through real processes: the cloud bin; a simulated edge-1 (this test, over MQTT with
 * the edge's credentials and the wire protocol) sends back-dated 5-minute readings, so whole clock
 * hours are complete without waiting an hour; the cloud publishes the hourly AQI (the injected
 * clock is the process's; the data's timestamps choose the hour); the API serves it; Debian's
 * chromium shows it on the station page with its hour and the reference label, first stale (an
 * hour that ended three hours ago), then fresh with a reading quality control flagged.
 */
describe('published hourly AQI on the dashboard', () => {
  let v: Village;
  let browser: Browser;
  let edge: MqttClient;
  let seq = 0;
  const now = Date.now();
  const thisHour = Math.floor(now / H) * H;
  const staleHour = thisHour - 4 * H;
  const freshHour = thisHour - H;

  const send = async (readings: Reading[]) => {
    seq++;
    const bytes = encodeBatch({
      edgeId: 'edge-1',
      seq,
      boot: 1,
      createdAt: Date.now(),
      historical: true,
      readings,
      events: [],
    });
    await edge.publishAsync(topics.batch('edge-1'), Buffer.from(bytes), { qos: 1 });
  };
  const hourly = async (hour: number) =>
    (await v.api<{ aqi: Row[] }>(`/api/v1/aqi/hourly?station=s1&from=${hour}&to=${hour + 1}`)).body.aqi[0];

  beforeAll(async () => {
    v = await createVillage('published-aqi', {
      edgePassword: PASSWORD,
      cloud: { rules: { aqi: { graceMs: 0, publishEveryMs: 200 } } },
    });
    await v.startCloud();
    edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${v.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'edge-1',
      username: 'edge-1',
      password: PASSWORD,
      reconnectPeriod: 0,
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await edge?.endAsync(true);
    await browser?.close();
    await v?.cleanup();
  });

  it('shows the published hour as stale, then a fresh hour with its flagged reading', async () => {
    await send(hourOfPm(staleHour, 30, 60));
    const stale = await waitFor('the stale hour published', () => hourly(staleHour));
    // Data of the present (HJ 633-2026 tables): PM10 60 decides, 58.
    expect(stale).toMatchObject({ aqi: 58, flagged: 0 });

    const { context, page } = await openPage(browser, `http://127.0.0.1:${v.httpPort}`, OFFICE_SCREEN);
    await page.goto('/#/station/s1');
    const panel = '[data-testid=published-aqi]';
    await page.waitForSelector(`${panel}[data-hour="${staleHour}"]`, { timeout: 30_000 });
    expect(await page.getAttribute(panel, 'data-stale')).toBe('true');
    expect(await page.getAttribute(panel, 'data-aqi')).toBe('58');
    expect(await page.textContent(`${panel} [data-testid=aqi-stale]`)).toContain('过时');
    expect(await page.textContent(`${panel} [data-testid=aqi-reference]`)).toContain('低成本传感器');
    // The live raw values are apart, under their own heading.
    expect(await page.textContent('h3.live-raw')).toContain('实时原始读数');
    await screenshot(page, 'published-aqi-stale');

    // The last complete hour, with one negative PM2.5 reading (quality control: Q, left out).
    const fresh = hourOfPm(freshHour, 80, 120);
    fresh.push({
      device: 'aq-1',
      metric: 'pm25',
      value: -4,
      unit: 'µg/m³',
      ts: freshHour + 150_000,
      quality: 'good',
    });
    await send(fresh);
    const row = await waitFor('the fresh hour published', () => hourly(freshHour));
    // PM2.5 80 (2026 row 60–115 → 100–150): 118.2 → 119; the −4 did not pull the mean down.
    expect(row).toMatchObject({ aqi: 119, flagged: 1 });
    await page.reload();
    await page.waitForSelector(`${panel}[data-hour="${freshHour}"]`, { timeout: 30_000 });
    expect(await page.getAttribute(panel, 'data-stale')).toBe('false');
    expect(await page.getAttribute(panel, 'data-aqi')).toBe('119');
    expect(await page.$(`${panel} [data-testid=aqi-stale]`)).toBeNull();
    expect(await page.textContent(`${panel} [data-testid=aqi-flagged-count]`)).toContain('1');
    expect(await page.textContent(`${panel} .aqi-hour`)).toMatch(/\d{2}:00/);
    const flagged = await page.$$eval('[data-testid=flagged-readings] tr', (rows) =>
      rows.map((r) => `${(r as HTMLElement).dataset.device}:${(r as HTMLElement).dataset.flag}`),
    );
    expect(flagged).toEqual(['aq-1:Q']);
    await screenshot(page, 'published-aqi-fresh-flagged');

    // Through the quality screen (no users configured: full access, so both forms show), an
    // officer invalidates the fresh hour: the cloud republishes it without its readings.
    const local = (ms: number) =>
      page.evaluate((t) => {
        const d = new Date(t);
        const p = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
      }, ms);
    const review = '[data-testid=review-form]';
    await page.fill(`${review} input[name=from]`, await local(freshHour));
    await page.fill(`${review} input[name=to]`, await local(freshHour + H));
    await page.fill(`${review} input[name=reason]`, '传感器进水');
    await page.click(`${review} button[value=invalidate]`);
    await page.waitForSelector('[data-testid=quality-audit] tr[data-action=invalidate]', { timeout: 30_000 });
    const audited = page.locator('[data-testid=quality-audit] tr[data-action=invalidate]');
    expect(await audited.getAttribute('data-from')).toBe(String(freshHour));
    expect(await audited.getAttribute('data-readings')).toBe('25');
    expect(await audited.textContent()).toContain('传感器进水');
    const invalidated = await waitFor('the fresh hour republished without its readings', async () => {
      const r = await hourly(freshHour);
      return r && r.aqi !== 119 ? r : undefined;
    });
    expect(invalidated).toMatchObject({ aqi: null, flagged: 25 });
    // The screen reloads the panel at once; the cloud republishes within publishEveryMs.
    await page.reload();
    await page.waitForSelector(`${panel}[data-hour="${freshHour}"][data-aqi=""]`, { timeout: 30_000 });
    await screenshot(page, 'published-aqi-invalidated');

    // An operator sets a maintenance window on aq-1 through the screen; readings in it are M.
    const wform = '[data-testid=window-form]';
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    // Not before this hour: in an hour's first 10 minutes, `minute - 10 min` reached back into the
    // fresh hour, and the window flagged its last stored readings M too (4 rows, not 2).
    const windowFrom = Math.max(minute - 10 * 60_000, thisHour);
    await page.selectOption(`${wform} select[name=kind]`, 'maintenance');
    await page.selectOption(`${wform} select[name=device]`, 'aq-1');
    await page.fill(`${wform} input[name=from]`, await local(windowFrom));
    await page.fill(`${wform} input[name=to]`, await local(minute + 10 * 60_000));
    await page.fill(`${wform} input[name=reason]`, '更换滤膜');
    await page.click(`${wform} button[type=submit]`);
    await page.waitForSelector('[data-testid=quality-windows] tr[data-kind=maintenance]', {
      timeout: 30_000,
    });
    await page.waitForSelector('[data-testid=quality-audit] tr[data-action=window_set]', { timeout: 30_000 });
    // Readings of this hour: in the first minutes of an hour, `minute - 5 min` would fall in the
    // fresh hour invalidated above, and the newer invalidation (I) would win over the window (M).
    const t0 = Math.max(thisHour + 2_000, Date.now());
    await send(
      [t0 - 2_000, t0 - 1_000].map((ts) => ({
        device: 'aq-1',
        metric: 'pm25',
        value: 40,
        unit: 'µg/m³',
        ts,
        quality: 'good' as const,
      })),
    );
    const inWindow = await waitFor('the readings in the window flagged', async () => {
      const r = await v.api<{ flags: { ts: number; flag: string }[] }>(
        `/api/v1/quality/flags?device=aq-1&from=${t0 - 2_000}&to=${t0}`,
      );
      return r.body.flags.length === 2 ? r.body.flags : undefined;
    });
    expect(inWindow.map((f) => f.flag)).toEqual(['M', 'M']);
    await page.reload();
    await page.waitForSelector('[data-testid=flagged-readings] tr[data-flag=M]', { timeout: 30_000 });
    expect(await page.locator('[data-testid=flagged-readings] tr[data-flag=M]').count()).toBe(2);
    await screenshot(page, 'published-aqi-maintenance');
    await context.close();
  }, 180_000);
});
