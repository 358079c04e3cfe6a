/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser: they need DOM types.
import { hashPassword } from '@village/cloud-ingest';
import { launchChromium } from '@village/test-kit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICE_SCREEN, logIn, openPage, screenshot } from './harness/browser.js';
import { type Village, createVillage } from './harness/village.js';

const TOWN = { username: 'town1', password: 'town1-pw', name: '赵镇长' };

/**
 * Issue 15: the board and the alert list render alerts from their structured fields, in Chinese
 * and in English, and a town officer sees people's names masked (张伟 → 张*), never an id that
 * carries a name. Real cloud and edge bins, Debian's chromium. The fake driver's first device
 * is registered as 张伟's wristband, so its SOS events are elder SOS alerts about her... him.
 */
describe('dashboard texts for a town officer', () => {
  let v: Village;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    v = await createVillage('dashboard-texts', {
      registry: {
        people: [{ id: 'p-0001', name: '张伟', station: 's1', wristband: 'a-1', livesAlone: true }],
      },
      cloud: {
        users: [
          {
            username: TOWN.username,
            passwordHash: hashPassword(TOWN.password),
            role: 'town',
            place: 't1',
            name: TOWN.name,
          },
        ],
        rules: {
          thresholds: [
            {
              id: 'pm25-1h',
              metric: 'pm2_5',
              direction: 'above',
              level: 10,
              averaging: '1h',
              severity: 'warning',
            },
          ],
        },
      },
    });
    await v.startCloud();
    base = `http://127.0.0.1:${v.httpPort}`;
    await v.startEdge([
      {
        kind: 'fake',
        id: 'fa',
        prefix: 'a-',
        devices: 2,
        intervalMs: 500,
        eventEveryMs: 2_000,
        metrics: [{ name: 'pm2_5', unit: 'µg/m³', min: 60, max: 180 }],
      },
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await v?.cleanup();
  });

  it('shows Chinese and English texts with the masked name on the board and in the alert list', async () => {
    const { context, page } = await openPage(browser, base, OFFICE_SCREEN);
    await logIn(page, TOWN.username, TOWN.password);

    // The board, in Chinese (the default): 张伟's SOS, masked for a town officer.
    await page.click('a[href="#/incidents"]');
    const card = '[data-column="open"] [data-incident] [data-testid=incident-text]';
    await page.waitForSelector(`${card}:has-text("紧急呼叫")`, { timeout: 30_000 });
    expect(await page.textContent(card)).toBe('张* 按下紧急呼叫');
    const board = await page.textContent('.board');
    expect(board).not.toContain('张伟');
    expect(board).not.toContain('p-0001');
    await screenshot(page, 'dashboard-texts-board-zh');

    // The alert list, in Chinese: the SOS and the pollutant with unit, averaging period and limit.
    await page.goto('/#/alerts');
    await page.waitForSelector('[data-testid=alert-text]:has-text("PM2.5")', { timeout: 30_000 });
    const zh = await page.$$eval('[data-testid=alert-text]', (els) => els.map((e) => e.textContent ?? ''));
    expect(zh).toContain('张* 按下紧急呼叫');
    expect(zh.find((x) => x.startsWith('PM2.5'))).toMatch(
      /^PM2\.5（1小时均值）\d+(\.\d+)?µg\/m³，超过限值 10µg\/m³$/,
    );
    expect(zh.join('\n')).not.toContain('张伟');

    // English on request: the same fields, rendered again.
    await page.click('header .who button:has-text("English")');
    await page.waitForSelector('[data-testid=alert-text]:has-text("SOS from")', { timeout: 30_000 });
    const en = await page.$$eval('[data-testid=alert-text]', (els) => els.map((e) => e.textContent ?? ''));
    expect(en).toContain('SOS from 张*');
    expect(en.find((x) => x.startsWith('PM2.5'))).toMatch(
      /^PM2\.5 \(1-hour mean\) \d+(\.\d+)? µg\/m³, above the limit of 10 µg\/m³$/,
    );
    await page.goto('/#/incidents');
    await page.waitForSelector(`${card}:has-text("SOS from")`);
    expect(await page.textContent(card)).toBe('SOS from 张*');
    await screenshot(page, 'dashboard-texts-board-en');

    // Response statistics per village, town and county (every response counted).
    await page.goto('/#/sla');
    await page.waitForSelector('table.by-place tr[data-level="county"][data-place="c1"]', {
      timeout: 20_000,
    });
    const levels = await page.$$eval('table.by-place tbody tr', (rows) =>
      rows.map((r) => `${(r as HTMLElement).dataset.level}:${(r as HTMLElement).dataset.place}`),
    );
    expect(levels).toEqual(['village:v1', 'town:t1', 'county:c1']);
    await context.close();
  }, 120_000);
});
