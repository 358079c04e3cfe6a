/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser: they need DOM types.
import { hashPassword } from '@village/cloud-ingest';
import { launchChromium, waitFor } from '@village/test-kit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICE_SCREEN, PHONE_SCREEN, logIn, openPage, screenshot } from './harness/browser.js';
import { type Village, createVillage } from './harness/village.js';

const ACK_DEADLINE_MS = 30_000;
const OFFICERS = {
  officer1: { role: 'village', place: 'v1', password: 'officer1-pw', name: '王村官' },
  officer2: { role: 'village', place: 'v2', password: 'officer2-pw', name: '李村官' },
};

interface Incident {
  id: string;
  state: string;
  level: string;
  acknowledgedBy: string | null;
  escalations: unknown[];
}

/**
 * An officer's day in a real browser (Debian's chromium) against a real cloud process and a real
 * edge with two fake drivers whose first devices send SOS events (every 1 s and every 5 s), so two
 * incidents open in village v1 (correlationWindowMs 0 keeps them apart). The officer logs in, sees
 * a live value change, acknowledges one incident before its 30 s deadline, watches the other
 * escalate to the town, and opens a station chart. A second officer of village v2 sees none of it.
 */
describe('dashboard in a browser', () => {
  let v: Village;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    v = await createVillage('dashboard', {
      registry: {
        counties: [
          {
            id: 'c1',
            name: '示例县',
            towns: [
              {
                id: 't1',
                name: '示例镇',
                villages: [
                  { id: 'v1', name: '东村', stations: [{ id: 's1', name: '东村站', edges: ['edge-1'] }] },
                  { id: 'v2', name: '西村', stations: [{ id: 's2', name: '西村站', edges: ['edge-2'] }] },
                ],
              },
            ],
          },
        ],
        people: [{ id: 'p1', name: '张三', station: 's1', wristband: 'wb-1', livesAlone: true }],
      },
      cloud: {
        users: Object.entries(OFFICERS).map(([username, o]) => ({
          username,
          passwordHash: hashPassword(o.password),
          role: o.role,
          place: o.place,
          name: o.name,
        })),
        rules: { incidents: { ackDeadlineMs: ACK_DEADLINE_MS, correlationWindowMs: 0 } },
      },
    });
    await v.startCloud();
    base = `http://127.0.0.1:${v.httpPort}`;
    const metrics = [
      { name: 'pm2_5', unit: 'µg/m³', min: 20, max: 180 },
      { name: 'pm10', unit: 'µg/m³', min: 40, max: 250 },
      { name: 'temperature', unit: '°C', min: 5, max: 30 },
    ];
    await v.startEdge([
      { kind: 'fake', id: 'fa', prefix: 'a-', devices: 2, intervalMs: 500, eventEveryMs: 1_000, metrics },
      // b-1's first SOS comes seconds after a-1's, in another batch: a separate incident.
      { kind: 'fake', id: 'fb', prefix: 'b-', devices: 1, intervalMs: 500, eventEveryMs: 5_000, metrics },
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await v?.cleanup();
  });

  it('an officer logs in, sees live values, acknowledges one incident and watches another escalate', async () => {
    const { context, page } = await openPage(browser, base, OFFICE_SCREEN);
    // Without a session the API refuses and the page shows the login form.
    expect((await page.request.get('/api/v1/devices')).status()).toBe(401);
    await logIn(page, 'officer1', OFFICERS.officer1.password);
    await expect(page.textContent('[data-testid=user]')).resolves.toBe('王村官');

    // A live value: the pm2_5 cell of a-1 changes without a reload (SSE).
    const cell = '.card[data-station="s1"] dd[data-device="a-1"][data-metric="pm2_5"]';
    await page.waitForSelector(cell, { timeout: 30_000 });
    const first = await page.textContent(cell);
    await page.waitForFunction(
      ([sel, before]) => document.querySelector(sel!)?.textContent !== before,
      [cell, first],
      { timeout: 30_000 },
    );
    // AQI badge computed in the page from PM2.5/PM10.
    expect(Number(await page.getAttribute('.card[data-station="s1"] .aqi', 'data-aqi'))).toBeGreaterThan(0);
    await screenshot(page, 'dashboard-overview-1366x768');

    // Two open incidents, each with a running countdown.
    await page.click('a[href="#/incidents"]');
    await page.waitForSelector('[data-column="open"] [data-incident] >> nth=1', { timeout: 30_000 });
    const ids = await page.$$eval('[data-column="open"] [data-incident]', (els) =>
      els.map((e) => (e as HTMLElement).dataset.incident!),
    );
    expect(ids.length).toBe(2);
    const [acked, escalating] = ids as [string, string];
    const clock = await page.textContent(`[data-incident="${acked}"] .clock`);
    expect(clock).toMatch(/^00:[0-3]\d$/);
    await screenshot(page, 'dashboard-incidents-open-1366x768');

    // Acknowledge the first before its deadline: attributed to the officer.
    await page.click(`[data-incident="${acked}"] button[data-action=ack]`);
    await page.waitForSelector(`[data-column="acknowledged"] [data-incident="${acked}"]`);
    expect(await page.textContent(`[data-incident="${acked}"] [data-testid=ack-by]`)).toContain('officer1');
    const ackedApi = await page.request.get(`/api/v1/incidents/${acked}`);
    const ackedBody = (await ackedApi.json()) as { incident: Incident };
    expect(ackedBody.incident).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'officer1',
      level: 'village',
    });

    // The other one is left alone: at its deadline it escalates to the town, on screen.
    await page.waitForSelector(`[data-incident="${escalating}"][data-level="town"]`, {
      timeout: ACK_DEADLINE_MS + 30_000,
    });
    expect(await page.textContent(`[data-incident="${escalating}"] [data-testid=level]`)).toBe('镇级');
    await screenshot(page, 'dashboard-incidents-escalated-1366x768');

    // Resolve the acknowledged one with a note.
    // The optional "arrived on scene" step, then close with an outcome and a note.
    await page.click(`[data-incident="${acked}"] button[data-action=arrive]`);
    await page.waitForSelector(`[data-incident="${acked}"] [data-testid=arrived]`);
    await page.selectOption(`[data-incident="${acked}"] select[name=outcome]`, 'handled_on_site');
    await page.fill(`[data-incident="${acked}"] input[name=note]`, '已到现场处置');
    await page.click(`[data-incident="${acked}"] button[data-action=resolve]`);
    await page.waitForSelector(`[data-column="resolved"] [data-incident="${acked}"]`);

    // A station chart from the history API, growing with live readings.
    await page.goto('/#/station/s1');
    await page.waitForSelector('[data-testid=chart] canvas', { timeout: 20_000 });
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('[data-testid=chart]')?.dataset.points) > 0,
    );
    const points = Number(await page.getAttribute('[data-testid=chart]', 'data-points'));
    await page.waitForFunction(
      (n) => Number(document.querySelector<HTMLElement>('[data-testid=chart]')?.dataset.points) > n,
      points,
      { timeout: 20_000 },
    );
    await page.click('button[data-range=range24h]');
    await page.waitForSelector('[data-testid=chart] canvas');
    await screenshot(page, 'dashboard-station-1366x768');

    // The other views render what the API has.
    await page.goto('/#/alerts');
    await page.waitForSelector('[data-alert]');
    await screenshot(page, 'dashboard-alerts-1366x768');
    await page.goto('/#/sla');
    await page.waitForSelector('table.sla tr[data-village="v1"]');
    await page.goto('/#/elder');
    await page.waitForSelector('tr[data-person="p1"]');
    // A village officer may see the names of the people in their village.
    expect(await page.textContent('tr[data-person="p1"] [data-testid=person-name]')).toContain('张三');
    await page.goto('/#/health');
    await page.waitForSelector('tr[data-edge="edge-1"]');
    expect(await page.textContent('tr[data-edge="edge-1"]')).toContain('在线');
    await screenshot(page, 'dashboard-health-1366x768');

    // English on request.
    await page.click('header .who button:has-text("English")');
    await page.waitForSelector('header nav a:has-text("Overview")');

    // Phone size: the same session, overview and incidents.
    await page.setViewportSize(PHONE_SCREEN);
    await page.goto('/#/overview');
    await page.waitForSelector('body[data-rendered="overview"]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'dashboard-overview-phone');
    await page.goto('/#/incidents');
    await page.waitForSelector('[data-column="open"]');
    await screenshot(page, 'dashboard-incidents-phone');
    await context.close();
  }, 180_000);

  it('an officer of village v2 cannot see village v1, in the UI or through the API', async () => {
    const { context, page } = await openPage(browser, base, OFFICE_SCREEN);
    await logIn(page, 'officer2', OFFICERS.officer2.password);
    expect(await page.$('.card[data-station="s1"]')).toBeNull();
    expect(await page.$('.card[data-station="s2"]')).not.toBeNull();
    const api = async (path: string) => {
      const res = await page.request.get(path);
      return { status: res.status(), body: (await res.json()) as Record<string, unknown[]> };
    };
    expect((await api('/api/v1/devices')).body.devices).toEqual([]);
    expect((await api('/api/v1/latest?device=a-1')).body.latest).toEqual([]);
    expect((await api('/api/v1/incidents')).body.incidents).toEqual([]);
    const now = Date.now();
    expect(
      (await api(`/api/v1/series?device=a-1&metric=pm2_5&from=${now - 3_600_000}&to=${now}&step=1m`)).status,
    ).toBe(404);
    // The live stream carries nothing of v1 either: listen for a few of v1's readings' worth of time.
    const got = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let n = 0;
          const es = new EventSource('/api/v1/stream');
          es.addEventListener('reading', () => n++);
          es.addEventListener('open', () =>
            setTimeout(() => {
              es.close();
              resolve(n);
            }, 3_000),
          );
        }),
    );
    expect(got).toBe(0);
    await page.click('a[href="#/incidents"]');
    await page.waitForSelector('body[data-rendered="incidents"]');
    expect(await page.$$('[data-incident]')).toHaveLength(0);
    // The static file server never reaches outside the dashboard build.
    for (const path of [
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/..%2F..%2Fpackage.json',
      '/assets/%2Fetc%2Fpasswd',
    ]) {
      expect((await page.request.get(path)).status(), path).toBe(404);
    }
    await context.close();
  }, 60_000);
});
