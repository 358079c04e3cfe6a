import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type Bucket, type LiveReading, type User, seriesResponseSchema } from '@village/protocol/api';
import { stationAqi } from '../air-water-index.js';
import { api } from '../api-client.js';
import { type AppData, formatValue, latestOfStation, stationName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, ago, t } from '../i18n.js';
import { onLive } from '../live-stream.js';
import { aqiBadge } from '../station-card-model.js';
import { liveHeading, publishedAqiPanel } from './published-aqi-panel.js';
import { qualityPanel } from './quality-panel.js';

/** Chart ranges and their bucket widths: about 100-300 points each. */
const RANGES: { key: MessageKey; ms: number; step: string }[] = [
  { key: 'range1h', ms: 3_600_000, step: '30s' },
  { key: 'range24h', ms: 86_400_000, step: '5m' },
  { key: 'range7d', ms: 7 * 86_400_000, step: '1h' },
  { key: 'range30d', ms: 30 * 86_400_000, step: '6h' },
];

/**
 * A station: every device's latest values (updated live from the stream) and a uPlot chart of
 * one metric over 1 h, 24 h, 7 d or 30 d from /series; live readings of that metric extend it.
 * Returns a cleanup function.
 */
export function renderStation(
  root: HTMLElement,
  data: AppData,
  station: string,
  role: User['role'] = 'anonymous',
): () => void {
  const devices = data.devices.filter((d) => d.station === station);
  const series = devices.flatMap((d) =>
    [...data.latest.values()]
      .filter((l) => l.device === d.id && typeof l.value === 'number')
      .map((l) => `${d.id}|${l.metric}`),
  );
  let selected = series[0];
  let range = RANGES[0]!;
  let plot: uPlot | undefined;
  let points: { t: number[]; mean: (number | null)[]; min: (number | null)[]; max: (number | null)[] } = {
    t: [],
    mean: [],
    min: [],
    max: [],
  };

  const aqi = aqiBadge(stationAqi(latestOfStation(data, station)));
  const table = el(
    'table',
    { class: 'latest' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', {}, t('devices')),
        el('th', {}, t('metric')),
        el('th', {}, t('value')),
        el('th', {}, t('time')),
      ),
    ),
    el(
      'tbody',
      {},
      ...[...data.latest.values()]
        .filter((l) => l.station === station)
        .map((l) =>
          el(
            'tr',
            {},
            el('td', {}, l.device),
            el('td', {}, l.metric),
            el('td', { 'data-device': l.device, 'data-metric': l.metric }, formatValue(l)),
            el('td', { 'data-ts-of': `${l.device}|${l.metric}` }, ago(l.ts)),
          ),
        ),
    ),
  );
  const chartBox = el('div', { class: 'chart', 'data-testid': 'chart' });
  const select = el(
    'select',
    {
      'aria-label': t('metric'),
      onchange: (e: Event) => {
        selected = (e.target as HTMLSelectElement).value;
        void loadChart();
      },
    },
    ...series.map((s) => el('option', { value: s }, s.replace('|', ' · '))),
  );
  const rangeButtons = el(
    'div',
    { class: 'ranges' },
    ...RANGES.map((r) =>
      el(
        'button',
        {
          type: 'button',
          'data-range': r.key,
          class: r === range ? 'on' : '',
          onclick: (e: Event) => {
            range = r;
            for (const b of rangeButtons.querySelectorAll('button')) b.classList.toggle('on', b === e.target);
            void loadChart();
          },
        },
        t(r.key),
      ),
    ),
  );
  let published = publishedAqiPanel(station);
  root.replaceChildren(
    el(
      'div',
      { class: 'station-head' },
      el('h2', {}, stationName(data, station)),
      aqi ? el('span', { class: 'aqi', style: `background:${aqi.color}` }, `${t('aqi')} ${aqi.aqi}`) : null,
    ),
    published,
    el('div', { class: 'chart-controls' }, select, rangeButtons),
    chartBox,
    liveHeading(),
    table,
    // Flag changes alter the published hour: it is reloaded after each.
    qualityPanel(
      station,
      devices.map((d) => d.id),
      role,
      () => {
        const fresh = publishedAqiPanel(station);
        published.replaceWith(fresh);
        published = fresh;
      },
    ),
  );

  async function loadChart(): Promise<void> {
    if (!selected) {
      chartBox.replaceChildren(el('p', { class: 'empty' }, t('noData')));
      return;
    }
    const [device, metric] = selected.split('|') as [string, string];
    const to = Date.now() + 1000;
    const from = to - range.ms;
    const res = await api(
      `/series?device=${encodeURIComponent(device)}&metric=${encodeURIComponent(metric)}&from=${from}&to=${to}&step=${range.step}`,
      seriesResponseSchema,
    ).catch(() => ({ buckets: [] as Bucket[] }));
    const buckets = res.buckets.filter((b) => b.count > 0);
    points = {
      t: buckets.map((b) => b.t / 1000),
      mean: buckets.map((b) => b.mean),
      min: buckets.map((b) => b.min),
      max: buckets.map((b) => b.max),
    };
    plot?.destroy();
    const width = Math.max(280, chartBox.clientWidth || root.clientWidth - 32);
    plot = new uPlot(
      {
        width,
        height: Math.min(320, Math.round(width * 0.5)),
        series: [
          {},
          { label: `${metric} (mean)`, stroke: '#1f6feb', width: 2 },
          { label: 'min', stroke: '#8fb3e8', dash: [4, 4] },
          { label: 'max', stroke: '#e8a08f', dash: [4, 4] },
        ],
        axes: [{}, { size: 56 }],
      },
      [points.t, points.mean, points.min, points.max],
      chartBox,
    );
    chartBox.dataset.points = String(points.t.length);
    chartBox.dataset.series = selected;
  }

  const stopLive = onLive({
    reading(r: LiveReading) {
      if (r.station !== station) return;
      const key = `${r.device}|${r.metric}`;
      const cell = table.querySelector(
        `[data-device="${CSS.escape(r.device)}"][data-metric="${CSS.escape(r.metric)}"]`,
      );
      if (cell) cell.textContent = formatValue(r);
      const ts = table.querySelector(`[data-ts-of="${CSS.escape(key)}"]`);
      if (ts) ts.textContent = ago(r.ts);
      if (key === selected && plot && typeof r.value === 'number' && !r.historical) {
        points.t.push(r.ts / 1000);
        points.mean.push(r.value);
        points.min.push(r.value);
        points.max.push(r.value);
        plot.setData([points.t, points.mean, points.min, points.max]);
        chartBox.dataset.points = String(points.t.length);
      }
    },
  });
  void loadChart();
  return () => {
    stopLive();
    plot?.destroy();
  };
}
