import { hashPassword } from '@village/cloud-ingest';
import { launchChromium } from '@village/test-kit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, openPage, screenshot } from './harness/browser.js';
import { type Village, createVillage } from './harness/village.js';

const OFFICERS = {
  operator: { role: 'village', place: 'v1', password: 'operator-pw-quality', name: '村运维员' },
  reviewer: { role: 'town', place: 't1', password: 'reviewer-pw-quality', name: '镇审核员' },
} as const;

/**
 * Issue 16: the station's quality screen shows each control only to the roles the cloud's routes
 * allow (quality-routes.ts): a village operator sets maintenance and calibration windows but may
 * not review data; a town officer invalidates or restores data but sets no windows. Both see the
 * windows and the audit. Through the real cloud and Debian's chromium, logged in by the form.
 */
describe('quality controls by role', () => {
  let v: Village;
  let browser: Browser;

  beforeAll(async () => {
    v = await createVillage('quality-roles', {
      cloud: {
        users: Object.entries(OFFICERS).map(([username, o]) => ({
          username,
          passwordHash: hashPassword(o.password),
          role: o.role,
          place: o.place,
          name: o.name,
        })),
      },
    });
    await v.startCloud();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await v?.cleanup();
  });

  for (const [who, can] of [
    ['operator', { windows: true, review: false }],
    ['reviewer', { windows: false, review: true }],
  ] as const) {
    it(`${who}: windows ${can.windows ? 'shown' : 'hidden'}, review ${can.review ? 'shown' : 'hidden'}`, async () => {
      const { context, page } = await openPage(browser, `http://127.0.0.1:${v.httpPort}`);
      await logIn(page, who, OFFICERS[who].password);
      await page.goto('/#/station/s1');
      // The panel has loaded its windows and audit (both answered for either role).
      await page.waitForSelector('[data-testid=quality-panel][data-loaded]', { timeout: 30_000 });
      expect(await page.textContent('[data-testid=quality-windows]')).toContain('当前没有维护或校准时段');
      expect(await page.textContent('[data-testid=quality-audit]')).toContain('尚无变更记录');
      expect((await page.$('[data-testid=window-form]')) !== null).toBe(can.windows);
      expect((await page.$('[data-testid=review-form]')) !== null).toBe(can.review);
      await screenshot(page, `quality-roles-${who}`);
      await context.close();
    }, 60_000);
  }
});
