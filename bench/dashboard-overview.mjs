#!/usr/bin/env node
// Dashboard overview first render: a real `village-cloud` process serving the built dashboard with
// a registry of 200 stations (40 villages in 5 towns), each with an air and a water device whose
// latest values are in the store. Debian's chromium (playwright-core) loads the overview at
// 1366x768 with a cold cache; we report navigation start → the overview's "overview-rendered"
// performance mark, and the bytes transferred (document, assets and API calls; the open SSE
// stream excluded). Usage: node bench/dashboard-overview.mjs [--runs 5] [--stations 200]
// Prints JSON lines. Needs: npm run build (cloud-ingest dist and dashboards/dist).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createSqliteSink, openDatabase } from '@village/cloud-ingest';
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';

const { values: opt } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, stations: { type: 'string', default: '200' } },
});
const RUNS = Number(opt.runs);
const STATIONS = Number(opt.stations);
const TOWNS = 5;
const STATIONS_PER_VILLAGE = 5;
const BIN = join(import.meta.dirname, '..', 'cloud-ingest', 'dist', 'bin', 'village-cloud.js');

const dir = mkdtempSync(join(tmpdir(), 'dashboard-bench-'));
const villages = Math.ceil(STATIONS / STATIONS_PER_VILLAGE);
const stations = Array.from({ length: STATIONS }, (_, i) => {
  const v = Math.floor(i / STATIONS_PER_VILLAGE);
  return { id: `s${i}`, village: `v${v}`, town: `t${v % TOWNS}`, edge: `e${i}` };
});
const registry = {
  counties: [
    {
      id: 'c1',
      name: '示例县',
      towns: Array.from({ length: TOWNS }, (_, t) => ({
        id: `t${t}`,
        name: `第${t + 1}镇`,
        villages: Array.from({ length: villages }, (_, v) => v)
          .filter((v) => v % TOWNS === t)
          .map((v) => ({
            id: `v${v}`,
            name: `${v + 1}村`,
            stations: stations
              .filter((s) => s.village === `v${v}`)
              .map((s) => ({ id: s.id, name: `${s.id}站`, edges: [s.edge] })),
          })),
      })),
    },
  ],
  devices: stations.flatMap((s) => [
    { id: `air-${s.id}`, edge: s.edge, kind: 'air-quality', driver: 'modbus' },
    { id: `water-${s.id}`, edge: s.edge, kind: 'water-probe', driver: 'modbus' },
  ]),
};
writeFileSync(join(dir, 'registry.yaml'), stringify(registry));
writeFileSync(
  join(dir, 'cloud.yaml'),
  stringify({ dataDir: './data', registry: './registry.yaml', mqtt: { port: 0 }, http: { port: 0 } }),
);

// Latest values straight into the store the cloud will open (the sink's own commit path).
const db = openDatabase(join(dir, 'data'));
const sink = createSqliteSink(db);
const now = Date.now();
for (const s of stations) {
  const r = (device, metric, value, unit) => ({
    device,
    metric,
    value,
    unit,
    ts: now - 5_000,
    quality: 'good',
  });
  await sink.commitBatch(
    {
      edgeId: s.edge,
      historical: false,
      receivedAt: now,
      place: { county: 'c1', town: s.town, village: s.village, station: s.id },
      readings: [
        r(`air-${s.id}`, 'pm2_5', 20 + (Number(s.id.slice(1)) % 150), 'µg/m³'),
        r(`air-${s.id}`, 'pm10', 40 + (Number(s.id.slice(1)) % 200), 'µg/m³'),
        r(`air-${s.id}`, 'temperature', 18.5, '°C'),
        r(`air-${s.id}`, 'humidity', 55, '%'),
        r(`water-${s.id}`, 'ph', 7.2, ''),
        r(`water-${s.id}`, 'dissolved_oxygen', 6.1, 'mg/L'),
        r(`water-${s.id}`, 'nh3_n', 0.4, 'mg/L'),
      ],
      events: [],
    },
    () => {},
  );
}
await sink.close();
db.close();

const cloud = spawn(process.execPath, [BIN, '--config', join(dir, 'cloud.yaml')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const httpPort = await new Promise((resolve, reject) => {
  createInterface({ input: cloud.stdout }).on('line', (line) => {
    try {
      const l = JSON.parse(line);
      if (l.msg === 'cloud ready') resolve(l.httpPort);
    } catch {}
  });
  cloud.once('exit', (code) => reject(new Error(`village-cloud exited with ${code}`)));
});
const base = `http://127.0.0.1:${httpPort}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const results = [];
try {
  for (let run = 0; run < RUNS; run++) {
    // A new context per run: empty cache, so every asset is transferred.
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-rendered="overview"]', { timeout: 30_000 });
    const m = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      return {
        renderedMs: Math.round(performance.getEntriesByName('overview-rendered')[0].startTime * 10) / 10,
        domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd * 10) / 10,
        transferredBytes: nav.transferSize + resources.reduce((n, r) => n + r.transferSize, 0),
        requests: 1 + resources.length,
        stationCards: document.querySelectorAll('.card[data-station]').length,
      };
    });
    results.push(m);
    console.log(JSON.stringify({ bench: 'dashboard-overview', run, stations: STATIONS, ...m }));
    await context.close();
  }
} finally {
  await browser.close();
  cloud.kill('SIGTERM');
  await new Promise((r) => cloud.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
const sorted = results.map((r) => r.renderedMs).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'dashboard-overview',
    summary: true,
    stations: STATIONS,
    runs: RUNS,
    medianRenderedMs: Math.round(sorted[Math.floor(sorted.length / 2)]),
    maxRenderedMs: Math.round(sorted.at(-1)),
    transferredBytes: results[0].transferredBytes,
    stationCards: results[0].stationCards,
  }),
);
