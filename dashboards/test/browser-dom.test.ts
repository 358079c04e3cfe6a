import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Device, EdgeHealth, Latest, LiveReading, Place } from '@village/protocol/api';
import { launchChromium } from '@village/test-kit';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stationAqi } from '../src/air-water-index.js';
import type { AppData } from '../src/app-data.js';

/**
 * The dashboard's DOM code in real Chromium (Debian's, as the e2e tests use it), bundled by vite
 * from fixtures/dom-entry.ts. The page is served by a small HTTP server of this test: it answers
 * /api/v1/places with a body outside the API contract on purpose, which the real cloud cannot be
 * made to send, to see the boundary refuse it.
 */
/** Real time: renderOverview judges staleness against the page's clock. */
const NOW = Date.now();

let browser: Browser;
let server: Server;
let page: Page;

beforeAll(async () => {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: {
        entry: join(import.meta.dirname, 'fixtures', 'dom-entry.ts'),
        formats: ['iife'],
        name: 'fixture',
      },
    },
  });
  const bundle = (Array.isArray(out) ? out[0]! : (out as { output: { code?: string }[] })).output[0]!.code!;
  server = createServer((req, res) => {
    if (req.url === '/api/v1/places') {
      // `station` as a number and `waterBody` missing: not a Place.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ places: [{ county: 'c1', station: 7 }] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><body><div id="app"></div><script>${bundle}</script></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'dashboard' in window);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

const reading = (metric: string, value: number, unit: string, ts: number): LiveReading => ({
  device: 'a-1',
  metric,
  unit,
  ts,
  value,
  quality: 'good',
  station: 's1',
  village: 'v1',
  historical: false,
});

interface Fixture {
  applyLiveReading(root: ParentNode, data: AppData, r: LiveReading, now?: number): void;
  renderOverview(root: HTMLElement, data: AppData): void;
}

describe('a live reading on the overview (Chromium)', () => {
  it('changes the value it brings and leaves the card, its badge and the other values the same nodes', async () => {
    const place: Place = {
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
    const device: Device = {
      id: 'a-1',
      kind: 'air',
      driver: 'modbus',
      edge: 'e1',
      station: 's1',
      village: 'v1',
      town: 't1',
      county: 'c1',
      metrics: [],
      lastSeen: NOW,
    };
    const edge: EdgeHealth = {
      id: 'e1',
      online: true,
      boot: 1,
      lastSeen: NOW,
      village: 'v1',
      state: null,
      alerts: [],
    };
    const latest: Latest[] = [reading('pm2_5', 30, 'µg/m³', NOW), reading('temperature', 20, '°C', NOW)];
    const result = await page.evaluate(
      ({ place, device, edge, latest, next, moving, now }) => {
        const f = (window as unknown as { dashboard: Fixture }).dashboard;
        const root = document.getElementById('app')!;
        const data = {
          places: [place],
          devices: [device],
          edges: [edge],
          latest: new Map(latest.map((l) => [`${l.device}|${l.metric}`, l])),
        };
        f.renderOverview(root, data);
        const card = root.querySelector('.card[data-station="s1"]');
        const aqi = root.querySelector('.card .aqi');
        const pm = root.querySelector('dd[data-metric="pm2_5"]');
        f.applyLiveReading(root, data, next, now);
        const afterTemperature = {
          sameCard: root.querySelector('.card[data-station="s1"]') === card,
          sameAqi: root.querySelector('.card .aqi') === aqi,
          samePm: root.querySelector('dd[data-metric="pm2_5"]') === pm,
          temperature: root.querySelector('dd[data-metric="temperature"]')?.textContent,
        };
        f.applyLiveReading(root, data, moving, now);
        const afterPm = {
          sameCard: root.querySelector('.card[data-station="s1"]') === card,
          samePm: root.querySelector('dd[data-metric="pm2_5"]') === pm,
          pm: pm?.textContent,
          aqi: root.querySelector('.card .aqi')?.getAttribute('data-aqi'),
        };
        return { afterTemperature, afterPm };
      },
      {
        place,
        device,
        edge,
        latest,
        next: reading('temperature', 21.5, '°C', NOW + 1000),
        moving: reading('pm2_5', 80, 'µg/m³', NOW + 2000),
        now: Date.now(),
      },
    );
    expect(result.afterTemperature).toEqual({
      sameCard: true,
      sameAqi: true,
      samePm: true,
      temperature: '21.5 °C',
    });
    // PM2.5 80 moves the AQI (the rules' own figure): the badge is redrawn, the card and the value cell stay.
    const moved = stationAqi([reading('pm2_5', 80, 'µg/m³', NOW)], NOW)!.aqi;
    expect(moved).not.toBe(stationAqi(latest, NOW)!.aqi);
    expect(result.afterPm).toEqual({ sameCard: true, samePm: true, pm: '80 µg/m³', aqi: String(moved) });
  });
});

describe('the API boundary (Chromium)', () => {
  it('an answer outside the contract is an ApiFailure bad_response naming the call and the field', async () => {
    const r = await page.evaluate(async () => {
      const f = (
        window as unknown as {
          dashboard: {
            ApiFailure: new (...a: never[]) => Error;
            api(path: string, schema: unknown): Promise<unknown>;
            badResponseCount(): number;
            setBadResponseHandler(h: (e: Error) => void): void;
            placesResponseSchema: unknown;
          };
        }
      ).dashboard;
      let shown = '';
      f.setBadResponseHandler((e) => {
        shown = e.message;
      });
      try {
        await f.api('/places', f.placesResponseSchema);
        return { threw: false };
      } catch (err) {
        const e = err as Error & { code: string; status: number };
        return {
          threw: true,
          isApiFailure: err instanceof f.ApiFailure,
          code: e.code,
          status: e.status,
          message: e.message,
          shown,
          count: f.badResponseCount(),
        };
      }
    });
    expect(r).toMatchObject({ threw: true, isApiFailure: true, code: 'bad_response', status: 200, count: 1 });
    expect(r.message).toContain('GET /places');
    expect(r.message).toContain('places.0.');
    expect(r.shown).toBe(r.message);
  });
});
