import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { launchChromium } from '@village/test-kit';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The whole dashboard app (built by vite from this package, as `npm run build` does) in real
 * Chromium, with Chromium's clock under the test's control. Its API is a small server of this
 * test, because the case needs an /edges answer held back until the user has moved on, which the
 * real cloud cannot be made to do; every body it sends is of @village/protocol/api.
 */
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const place = {
  county: 'c1',
  countyName: '县',
  town: 't1',
  townName: '镇',
  village: 'v1',
  villageName: '村',
  station: 's1',
  stationName: '站',
  waterBody: null,
};
const edge = {
  id: 'e1',
  online: true,
  boot: 1,
  lastSeen: Date.now(),
  village: 'v1',
  state: null,
  alerts: [],
};
const ANSWERS: Record<string, unknown> = {
  '/api/v1/me': { user: { username: 'anonymous', role: 'anonymous', place: null, name: 'anonymous' } },
  '/api/v1/places': { places: [place] },
  '/api/v1/devices': { devices: [] },
  '/api/v1/edges': { edges: [edge] },
  '/api/v1/latest': { latest: [] },
  '/api/v1/incidents': { incidents: [] },
  '/api/v1/people': { people: [] },
  '/api/v1/alerts': { alerts: [] },
};

let dir: string;
let server: Server;
let browser: Browser;
let base: string;
/** /edges answers are held here while `holdEdges` is set. */
let holdEdges = false;
const held: (() => void)[] = [];

function serve(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path === '/api/v1/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('retry: 2000\n: connected\n\n');
    return;
  }
  if (path.startsWith('/api/')) {
    const body = ANSWERS[path];
    const send = () => {
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { error: { code: 'not_found', message: `no route ${path}` } }));
    };
    if (path === '/api/v1/edges' && holdEdges) held.push(send);
    else send();
    return;
  }
  const file = join(dir, path === '/' ? 'index.html' : path);
  try {
    const bytes = readFileSync(file);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(bytes);
  } catch {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboards-app-'));
  const root = join(import.meta.dirname, '..');
  await build({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir: dir, emptyOutDir: true },
  });
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const go = (page: Page, hash: string) =>
  page.evaluate((h) => {
    location.hash = h;
  }, hash);

describe('a late answer of the health view (Chromium, whole app)', () => {
  it('does not take the place of the view the user moved on to', async () => {
    const page = await browser.newPage();
    await page.clock.install();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await page.goto(`${base}/#/overview`);
    await page.waitForSelector('body[data-rendered="overview"]');

    // Health asks for fresh /edges; the answer is held while the user goes on to the incidents.
    holdEdges = true;
    const edgesAsked = page.waitForRequest((r) => r.url().endsWith('/api/v1/edges'));
    await go(page, '#/health');
    await edgesAsked;
    await go(page, '#/incidents');
    await page.waitForSelector('body[data-rendered="incidents"]');

    // Now the late answer arrives, and is read by the page.
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/edges'));
    holdEdges = false;
    for (const send of held.splice(0)) send();
    await (await answered).finished();
    await page.clock.runFor(100);

    // Leaving the incidents must stop their 10 s reload: had the late answer replaced the
    // incidents view's cleanup with its own, the reload would go on behind the overview.
    await go(page, '#/overview');
    await page.waitForSelector('main .town');
    const before = requests.filter((p) => p === '/api/v1/incidents').length;
    await page.clock.runFor(35_000);
    // A request made after the clock ran: every request the timers made is logged before it.
    await page.evaluate(() => fetch('/api/v1/me').then((r) => r.text()));
    expect(requests.filter((p) => p === '/api/v1/incidents').length).toBe(before);
    await page.close();
  });
});
