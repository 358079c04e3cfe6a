import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { Logger } from 'pino';

/** The dashboards' Vite build in this checkout, found relative to this file (src/http or dist/http). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboards/dist', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * Everything from this origin only: the dashboard works without internet, and an injected script
 * could not call out. Inline styles are allowed because uPlot positions its parts with them.
 */
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * Serves the dashboard build: `/` is index.html, `/assets/*` are Vite's hashed files (cached for a
 * year, since a new build gives new names). A path lookup under `dir`, never outside it. When the
 * folder has no build, `/` answers 503 saying how to build it; the API works regardless.
 */
export function createDashboardRoutes(dir: string, log: Logger): Hono {
  const root = resolve(dir);
  if (!existsSync(resolve(root, 'index.html'))) {
    log.warn({ dashboardDir: root }, 'no dashboard build found: run `npm run build` in dashboards/');
  }
  const app = new Hono();

  const send = async (relative: string, cacheControl: string) => {
    const path = resolve(root, relative);
    if (!path.startsWith(root + sep)) return undefined;
    try {
      const body = await readFile(path);
      const headers: Record<string, string> = {
        'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
        'cache-control': cacheControl,
        'x-content-type-options': 'nosniff',
      };
      if (path.endsWith('.html')) headers['content-security-policy'] = CSP;
      return new Response(body, { status: 200, headers });
    } catch {
      return undefined;
    }
  };

  app.get('/', async (c) => {
    const res = await send('index.html', 'no-cache');
    return (
      res ??
      c.text(
        'The dashboard is not built: run `npm run build` in dashboards/ (or set http.dashboardDir).',
        503,
      )
    );
  });
  app.get('/assets/*', async (c) => {
    const relative = decodeURIComponent(c.req.path.slice(1));
    return (await send(relative, 'public, max-age=31536000, immutable')) ?? c.text('not found', 404);
  });
  app.get(
    '/favicon.svg',
    async (c) => (await send('favicon.svg', 'public, max-age=86400')) ?? c.body(null, 404),
  );
  return app;
}
