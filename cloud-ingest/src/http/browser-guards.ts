import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';

export interface BrowserGuardConfig {
  /** http.host: the address the API listens on (accepted as a Host name unless a wildcard). */
  listenHost: string;
  /** http.allowedHosts: further names officers reach the cloud by. */
  allowedHosts: readonly string[];
  /** http.allowedOrigins: origins other than the request's own that may send state-changing requests. */
  allowedOrigins: readonly string[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The host name of a Host header (`name:port`, `[v6]:port`), lower case, without the port. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

const refuse = (status: 403 | 421, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/**
 * Two checks a browser cannot be talked out of, for every route:
 * - Host (DNS rebinding): a page of evil.example whose name an attacker re-points at the cloud
 *   sends `Host: evil.example`. Accepted: localhost, any IP literal (a rebound page always has a
 *   name, never an IP), http.host, and http.allowedHosts. Anything else is 421.
 * - Origin (CSRF) on state-changing methods: a browser sends Origin with every cross-origin
 *   request, including a `text/plain` form POST that needs no CORS preflight. It must be the
 *   request's own origin (same scheme and Host) or one of http.allowedOrigins, else 403. Without
 *   Origin, `Sec-Fetch-Site: cross-site|same-site` is refused too; a request with neither comes
 *   from a non-browser client (curl, scripts), which has no ambient cookies to abuse.
 */
export function createBrowserGuards(config: BrowserGuardConfig): MiddlewareHandler {
  const wildcard = config.listenHost === '0.0.0.0' || config.listenHost === '::';
  const hosts = new Set(['localhost', ...config.allowedHosts.map((h) => h.toLowerCase())]);
  if (!wildcard)
    hosts.add(hostName(config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost));
  const origins = new Set(config.allowedOrigins.map((o) => o.toLowerCase()));
  return async (c, next) => {
    const host = c.req.header('host');
    if (host !== undefined) {
      const name = hostName(host);
      if (!(hosts.has(name) || isIP(name) !== 0 || name.endsWith('.localhost'))) {
        return refuse(
          421,
          'unknown_host',
          `Host ${JSON.stringify(host.slice(0, 100))} is not a name of this cloud (http.allowedHosts)`,
        );
      }
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header('origin');
      if (origin !== undefined) {
        const own = `${new URL(c.req.url).protocol}//${(host ?? '').toLowerCase()}`;
        const o = origin.toLowerCase();
        if (o !== own && !origins.has(o)) {
          return refuse(
            403,
            'cross_origin',
            `Origin ${JSON.stringify(origin.slice(0, 100))} may not change anything here (http.allowedOrigins)`,
          );
        }
      } else {
        const site = c.req.header('sec-fetch-site');
        if (site === 'cross-site' || site === 'same-site')
          return refuse(403, 'cross_origin', `a ${site} request may not change anything here`);
      }
    }
    return next();
  };
}
