import { launchChromium } from '@village/test-kit';
/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser: they need DOM types.
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, openPage, screenshot } from './harness/browser.js';
import { hashWithBin } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

const ADMIN = { username: 'root', password: 'admin-screen-pw' };
const VILLAGE_OFFICER = { username: 'v1-officer', password: 'v1-officer-pw' };

/** 'connected' or the broker's refusal, for a CONNECT as `edge` with `secret`. */
const tryConnect = (port: number, edge: string, secret: string) =>
  new Promise<string>((resolve) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      clientId: `${edge}-${Math.random().toString(16).slice(2, 8)}`,
      username: edge,
      password: secret,
      reconnectPeriod: 0,
    });
    c.once('connect', () => {
      c.end(true);
      resolve('connected');
    });
    c.once('error', (err) => {
      c.end(true);
      resolve(err.message);
    });
  });

// Issue 17: the admin screens add villages, stations and edges, show an edge's secret once,
// rotate and revoke it, add an officer and reset their password; the audit lists each step.
// Built cloud, Debian's chromium; the secret read off the screen is tried on the real broker.
describe('admin screens (built cloud, Chromium)', { timeout: 120_000 }, () => {
  let v: Village;
  let browser: Browser;
  let page: Page;
  let base: string;
  beforeAll(async () => {
    v = await createVillage('dashboard-admin', {
      cloud: {
        users: [
          {
            username: ADMIN.username,
            passwordHash: hashWithBin(ADMIN.password),
            role: 'admin',
            name: '管理员',
          },
          {
            username: VILLAGE_OFFICER.username,
            passwordHash: hashWithBin(VILLAGE_OFFICER.password),
            role: 'village',
            place: 'v1',
            name: '村干部',
          },
        ],
      },
    });
    await v.startCloud();
    base = `http://127.0.0.1:${v.httpPort}`;
    browser = await launchChromium();
    ({ page } = await openPage(browser, base));
    page.on('dialog', (d) => void d.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await v?.cleanup();
  });

  const add = async (section: string, values: Record<string, string>) => {
    for (const [k, value] of Object.entries(values)) {
      const input = `form[data-add="${section}"] [name="${k}"]`;
      if ((await page.$eval(input, (e) => e.tagName)) === 'SELECT') await page.selectOption(input, value);
      else await page.fill(input, value);
    }
    await page.click(`form[data-add="${section}"] button[type=submit]`);
  };
  const secretOnScreen = async (edge: string, not?: string) => {
    const handle = await page.waitForFunction(
      ([id, old]) => {
        const text = document.querySelector(`[data-secret="${id}"]`)?.textContent;
        return text && text !== old ? text : null;
      },
      [edge, not ?? ''] as const,
    );
    return (await handle.jsonValue()) as string;
  };

  it('adds a village, station and edge; the edge secret shown once works; rotate, revoke, officers, audit', async () => {
    await logIn(page, ADMIN.username, ADMIN.password);
    await page.click('header nav a[href="#/admin"]');
    await page.waitForSelector('body[data-rendered="admin"]');

    await add('villages', { id: 'v-web', name: '网村', town: 't1' });
    await page.waitForSelector('[data-section="villages"] tr[data-row="v-web"]');
    await add('stations', { id: 's-web', name: '网站', village: 'v-web' });
    await page.waitForSelector('[data-section="stations"] tr[data-row="s-web"]');
    await add('edges', { id: 'edge-web', station: 's-web' });
    await page.waitForSelector('[data-section="edges"] tr[data-row="edge-web"]');
    const first = await secretOnScreen('edge-web');
    expect(await tryConnect(v.mqttPort, 'edge-web', first)).toBe('connected');
    await screenshot(page, 'admin-edge-secret');

    // A refusal is shown with the API's code and message.
    await add('stations', { id: 's-bad', name: '错', village: 'nowhere' });
    await page.waitForSelector('[data-admin-status].error');
    expect(await page.textContent('[data-admin-status]')).toContain('unknown_parent');

    // Rotate with no overlap: only the new secret works; revoke: none does.
    await page.fill('[data-section="edges"] tr[data-row="edge-web"] input[type=number]', '0');
    await page.click('[data-section="edges"] tr[data-row="edge-web"] [data-action="rotate"]');
    const second = await secretOnScreen('edge-web', first);
    expect(await tryConnect(v.mqttPort, 'edge-web', second)).toBe('connected');
    expect(await tryConnect(v.mqttPort, 'edge-web', first)).not.toBe('connected');
    await page.click('[data-section="edges"] tr[data-row="edge-web"] [data-action="revoke"]');
    await page.waitForFunction(() => document.querySelector('[data-admin-status]')?.textContent === '已保存');
    expect(await tryConnect(v.mqttPort, 'edge-web', second)).not.toBe('connected');

    // An officer for the new village: added, logs in, password reset by the admin.
    await add('users', {
      id: 'web-officer',
      name: '网村干部',
      role: 'village',
      place: 'v-web',
      password: 'web-officer-1',
    });
    await page.waitForSelector('[data-section="users"] tr[data-row="web-officer"]');
    const login = (password: string) =>
      fetch(`${base}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'web-officer', password }),
      }).then((r) => r.status);
    expect(await login('web-officer-1')).toBe(200);
    await page.fill(
      '[data-section="users"] tr[data-row="web-officer"] input[type=password]',
      'web-officer-2',
    );
    await page.click('[data-section="users"] tr[data-row="web-officer"] [data-action="reset-password"]');
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.admin-audit td')).some(
        (td) => td.textContent === 'set-password',
      ),
    );
    expect(await login('web-officer-1')).toBe(401);
    expect(await login('web-officer-2')).toBe(200);

    // Removing the edge takes its row away; the audit lists every step by the admin.
    await page.click('[data-section="edges"] tr[data-row="edge-web"] [data-action="remove"]');
    await page.waitForSelector('[data-section="edges"] tr[data-row="edge-web"]', { state: 'detached' });
    const audit = await page.$$eval('.admin-audit tbody tr', (rows) =>
      rows.map((r) =>
        Array.from(r.querySelectorAll('td'))
          .slice(1)
          .map((td) => td.textContent)
          .join(' '),
      ),
    );
    // The registry.yaml import at start is there too, by its own actor.
    expect(audit.filter((a) => a.startsWith('root ')).reverse()).toEqual([
      'root create village v-web',
      'root create station s-web',
      'root create edge edge-web',
      'root issue-credential edge edge-web',
      'root rotate-credential edge edge-web',
      'root revoke-credential edge edge-web',
      'root create user web-officer',
      'root set-password user web-officer',
      'root remove edge edge-web',
      'root revoke-credential edge edge-web',
    ]);
    await screenshot(page, 'admin-audit');
  });

  it('a village officer has no admin screen, and the API refuses them', async () => {
    const { context, page: officer } = await openPage(browser, base);
    try {
      await logIn(officer, VILLAGE_OFFICER.username, VILLAGE_OFFICER.password);
      expect(await officer.$('header nav a[href="#/admin"]')).toBeNull();
      await officer.goto('/#/admin');
      await officer.waitForSelector('[data-admin-status].error');
      expect(await officer.textContent('[data-admin-status]')).toContain('forbidden');
    } finally {
      await context.close();
    }
  });
});
