import type { MonthlyReport } from '../rules-runtime/monthly-report.js';

const LEVELS: [keyof MonthlyReport['daysByLevel'], string][] = [
  ['1', '优 (Excellent)'],
  ['2', '良 (Good)'],
  ['3', '轻度污染 (Lightly polluted)'],
  ['4', '中度污染 (Moderately polluted)'],
  ['5', '重度污染 (Heavily polluted)'],
  ['6', '严重污染 (Severely polluted)'],
];

const pct = (x: number | null) => (x === null ? '' : `${Math.round(x * 1000) / 10}%`);

/** The report as rows of [item, value]: one source for the CSV and the printable page. */
function rows(r: MonthlyReport): [string, string][] {
  return [
    ['station', r.station],
    ['station name', r.stationName],
    ['month', r.month],
    ['days', String(r.days)],
    ...LEVELS.map(([k, name]): [string, string] => [`days ${name}`, String(r.daysByLevel[k])]),
    ['days without a valid daily AQI', String(r.daysWithoutAqi)],
    ['days meeting the standard (AQI ≤ 100)', String(r.daysMeetingStandard)],
    ['share of days meeting the standard', pct(r.shareMeetingStandard)],
    ...Object.entries(r.primaryPollutants).map(([p, n]): [string, string] => [
      `days primary ${p}`,
      String(n),
    ]),
    ['hours with an hourly AQI', `${r.hoursWithAqi} / ${r.hours}`],
    ['data capture rate (hours)', pct(r.captureRate)],
    ['pollutant readings', String(r.airReadings)],
    ['pollutant readings flagged', String(r.airReadingsFlagged)],
    ...Object.entries(r.flaggedByFlag).map(([f, n]): [string, string] => [
      `readings flagged ${f}`,
      String(n),
    ]),
    ['water body', r.water?.body ?? ''],
    ['water class of the month', r.water?.label ?? ''],
  ];
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function monthlyReportCsv(r: MonthlyReport): string {
  return `${['item,value', ...rows(r).map(([k, v]) => `${csvField(k)},${csvField(v)}`)].join('\r\n')}\r\n`;
}

const html = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained page to print (A4, no script): the same rows as the CSV. */
export function monthlyReportHtml(r: MonthlyReport): string {
  const title = `${r.stationName} — ${r.month} 月报 / monthly report`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>
@page { size: A4; margin: 18mm; }
body { font-family: sans-serif; color: #000; }
table { border-collapse: collapse; width: 100%; }
td { border: 1px solid #999; padding: 4px 8px; }
td:last-child { text-align: right; }
.note { font-size: 0.85em; color: #333; }
</style></head><body>
<h1>${html(title)}</h1>
<p class="note">参考值：由低成本传感器数据按 HJ 633 / GB 3838 计算，经自动质控；非官方监测数据。
Reference values from low-cost sensors after automatic quality control; not official monitoring data.</p>
<table data-testid="monthly-report"><tbody>
${rows(r)
  .map(([k, v]) => `<tr><td>${html(k)}</td><td>${html(v)}</td></tr>`)
  .join('\n')}
</tbody></table>
</body></html>
`;
}
