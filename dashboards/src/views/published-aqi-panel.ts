import {
  type PublishedAqiRow,
  publishedAqiResponseSchema,
  qualityFlagsResponseSchema,
} from '@village/protocol/api';
import { AQI_STALE_AFTER_MS } from '../air-water-index.js';
import { api } from '../api-client.js';
import { el } from '../dom-element.js';
import { currentLang, formatTime } from '../i18n.js';

const LEVEL_EN = [
  '',
  'Excellent',
  'Good',
  'Lightly polluted',
  'Moderately polluted',
  'Heavily polluted',
  'Severely polluted',
];
const LEVEL_COLOR = ['', '#00E400', '#FFFF00', '#FF7E00', '#FF0000', '#99004C', '#7E0023'];
const TEXT = {
  zh: {
    title: '发布的小时空气质量指数',
    reference: '参考值：由低成本传感器数据按 HJ 633 计算，非官方监测站数据',
    hour: '时段',
    primary: '首要污染物',
    stale: '数据已过时（超过两小时）',
    none: '尚无发布的小时指数',
    noAqi: '本小时无有效数据',
    flaggedInHour: '本小时被质控剔除的读数',
    flaggedTitle: '被质控标记的数据',
    flag: '标记',
    reason: '原因',
    live: '实时原始读数（未经小时平均与质控发布）',
    report: '本月站点月报（可打印）',
    csv: 'CSV',
  },
  en: {
    title: 'Published hourly AQI',
    reference:
      'Reference value: computed by HJ 633 from low-cost sensors, not an official monitoring station',
    hour: 'Hour',
    primary: 'Primary pollutant',
    stale: 'Stale (older than two hours)',
    none: 'No hourly AQI published yet',
    noAqi: 'No valid data in this hour',
    flaggedInHour: 'Readings of this hour left out by quality control',
    flaggedTitle: 'Data flagged by quality control',
    flag: 'Flag',
    reason: 'Reason',
    live: 'Live raw readings (not hourly means, not quality-checked for publication)',
    report: "This month's station report (printable)",
    csv: 'CSV',
  },
};
const tx = (k: keyof (typeof TEXT)['zh']) => TEXT[currentLang()][k];

const hourLabel = (p: PublishedAqiRow) => {
  const end = new Date(p.end).toLocaleTimeString(currentLang() === 'zh' ? 'zh-CN' : 'en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
  return `${formatTime(p.start)} – ${end}`;
};

/**
 * The station's published hourly AQI (issue 16): the newest hour with its time span, labelled as
 * a reference value from low-cost sensors, shown as stale when its hour ended more than two hours
 * ago; the readings quality control flagged. Live raw values stay in the station's table, under
 * their own heading (`liveHeading`).
 */
export function publishedAqiPanel(station: string, now: () => number = Date.now): HTMLElement {
  const box = el(
    'section',
    { class: 'published-aqi', 'data-testid': 'published-aqi' },
    el('h3', {}, tx('title')),
  );
  const flags = el('section', { class: 'flagged', 'data-testid': 'flagged-readings' });
  // The local (UTC+8) month of now, as the report counts months.
  const month = new Date(now() + 8 * 3_600_000).toISOString().slice(0, 7);
  const report = `/api/v1/reports/monthly?station=${encodeURIComponent(station)}&month=${month}`;
  const links = el(
    'p',
    { class: 'report-links' },
    el(
      'a',
      { href: `${report}&format=html`, target: '_blank', 'data-testid': 'monthly-report' },
      tx('report'),
    ),
    ' · ',
    el('a', { href: `${report}&format=csv` }, tx('csv')),
  );
  const root = el('div', { class: 'published' }, box, flags, links);
  const q = encodeURIComponent(station);
  void Promise.all([
    api(`/aqi/hourly?station=${q}&limit=1`, publishedAqiResponseSchema).catch(() => ({ aqi: [] })),
    api(`/quality/flags?station=${q}&limit=20`, qualityFlagsResponseSchema).catch(() => ({ flags: [] })),
  ]).then(([hourly, flagged]) => {
    const p = hourly.aqi[0];
    if (!p) {
      box.append(el('p', { class: 'empty' }, tx('none')));
    } else {
      const stale = now() - p.end > AQI_STALE_AFTER_MS;
      const level = p.level ?? 0;
      box.dataset.hour = String(p.start);
      box.dataset.stale = String(stale);
      box.dataset.aqi = p.aqi === null ? '' : String(p.aqi);
      const parts: (HTMLElement | null)[] = [
        el(
          'div',
          {
            class: `aqi aqi-${level}${stale ? ' aqi-stale' : ''}`,
            style: p.aqi === null ? '' : `background:${LEVEL_COLOR[level]}`,
          },
          el('span', { class: 'aqi-value' }, p.aqi === null ? '—' : String(p.aqi)),
          el(
            'span',
            {},
            p.aqi === null ? tx('noAqi') : currentLang() === 'zh' ? (p.levelZh ?? '') : LEVEL_EN[level]!,
          ),
        ),
        el('p', { class: 'aqi-hour' }, `${tx('hour')}: ${hourLabel(p)}`),
        p.primary.length ? el('p', {}, `${tx('primary')}: ${p.primary.join(', ')}`) : null,
        el('p', { class: 'aqi-reference', 'data-testid': 'aqi-reference' }, tx('reference')),
        stale ? el('p', { class: 'aqi-stale-note', 'data-testid': 'aqi-stale' }, tx('stale')) : null,
        p.flagged > 0
          ? el('p', { 'data-testid': 'aqi-flagged-count' }, `${tx('flaggedInHour')}: ${p.flagged}`)
          : null,
      ];
      box.append(...parts.filter((x): x is HTMLElement => x !== null));
    }
    if (flagged.flags.length > 0) {
      flags.append(
        el('h3', {}, tx('flaggedTitle')),
        el(
          'table',
          {},
          el(
            'tbody',
            {},
            ...flagged.flags.map((f) =>
              el(
                'tr',
                { 'data-flag': f.flag, 'data-device': f.device },
                el('td', {}, f.device),
                el('td', {}, f.metric),
                el('td', {}, formatTime(f.ts)),
                el('td', { title: tx('flag') }, f.flag),
                el('td', { title: tx('reason') }, f.reasons.map((r) => r.detail).join('; ')),
              ),
            ),
          ),
        ),
      );
    }
    root.dataset.loaded = 'true';
  });
  return root;
}

/** The heading over the station's live raw values, so they are not read as the published index. */
export const liveHeading = (): HTMLElement => el('h3', { class: 'live-raw' }, tx('live'));
