import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Screenshots go here (gitignored); CI keeps the folder as an artifact. */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

export const OFFICE_SCREEN = { width: 1366, height: 768 };
export const PHONE_SCREEN = { width: 390, height: 844 };

/** A fresh context (its own cookies) at a screen size; Chinese is the dashboard's default. */
export async function openPage(
  browser: Browser,
  baseURL: string,
  viewport = OFFICE_SCREEN,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Logs in through the form and waits for the overview to render. */
export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/');
  await page.waitForSelector('body[data-rendered="login"]');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('body[data-rendered="overview"]');
}
