import type { WaterBody } from '@village/rules';
import { Hono } from 'hono';
import type { AqiPublisher } from '../rules-runtime/hourly-aqi-publisher.js';
import { ReportError, buildMonthlyReport } from '../rules-runtime/monthly-report.js';
import type { QualityFlags } from '../rules-runtime/quality-flags.js';
import type { Sink } from '../sink/sink.js';
import { oneOf } from './alert-routes.js';
import { ApiError } from './api-error.js';
import { monthlyReportCsv, monthlyReportHtml } from './monthly-report-format.js';
import { requireParam } from './query-params.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

export interface ReportStation {
  id: string;
  name: string;
  village: string;
  waterBody: WaterBody;
}

/**
 * `GET /api/v1/reports/monthly?station=&month=YYYY-MM&format=json|csv|html` (docs/api.md
 * "Reports"): a station's month as JSON, CSV (a download) or a printable page. A station outside
 * the caller's villages is a 404.
 */
export function createReportRoutes(deps: {
  publisher: AqiPublisher;
  quality?: QualityFlags;
  sink?: Sink;
  stations: ReadonlyMap<string, ReportStation>;
  now(): number;
}): Hono {
  const app = new Hono();
  app.get('/api/v1/reports/monthly', async (c) => {
    const q = c.req.query();
    const id = requireParam(q, 'station');
    const month = requireParam(q, 'month');
    const format = oneOf('format', q.format, ['json', 'csv', 'html'] as const) ?? 'json';
    const station = deps.stations.get(id);
    if (!station || !canSeeVillage(scopeOf(c), station.village))
      throw new ApiError(404, 'unknown_place', `no station ${id}`);
    let report: Awaited<ReturnType<typeof buildMonthlyReport>>;
    try {
      report = await buildMonthlyReport({ ...deps, station, month, now: deps.now() });
    } catch (err) {
      if (err instanceof ReportError) throw new ApiError(400, 'bad_param', err.message);
      throw err;
    }
    if (format === 'csv') {
      return c.body(monthlyReportCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="report-${encodeURIComponent(id)}-${month}.csv"`,
      });
    }
    if (format === 'html') return c.html(monthlyReportHtml(report));
    return c.json({ report });
  });
  return app;
}
