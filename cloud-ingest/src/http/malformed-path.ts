import type { MiddlewareHandler } from 'hono';

/**
 * A path that does not percent-decode (`/assets/%E0`) is the client's mistake: 400 naming it,
 * before any route tries to decode it (it used to be a 500 from the static file route).
 */
export const refuseMalformedPath: MiddlewareHandler = async (c, next) => {
  const raw = c.req.url.slice(c.req.url.indexOf('/', c.req.url.indexOf('//') + 2)).split('?')[0]!;
  try {
    decodeURIComponent(raw);
  } catch {
    return c.json(
      {
        error: {
          code: 'bad_path',
          message: `path ${JSON.stringify(raw.slice(0, 200))} is not valid percent-encoded UTF-8`,
        },
      },
      400,
    );
  }
  return next();
};
