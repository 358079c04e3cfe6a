import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { COMMAND_BODY_BYTES } from './command-routes.js';

/** Largest request body on any route without its own entry below: logins, notes, acks are small. */
export const DEFAULT_BODY_BYTES = 64 * 1024;

/** Routes that need more than DEFAULT_BODY_BYTES, by `METHOD path`. */
const ROUTE_BODY_BYTES: Record<string, number> = {
  'POST /api/v1/commands': COMMAND_BODY_BYTES,
};

/**
 * A body limit on every route, before any handler reads a byte: a Content-Length above the limit
 * is answered 413 at once, a chunked body is cut when it passes the limit, and the server then
 * closes the connection instead of reading the rest (@hono/node-server drains at most 500 ms).
 * An unauthenticated 300 MB login used to take the cloud from 464 MB to 1.15 GB RSS.
 */
export function createBodyLimits(): MiddlewareHandler {
  const limiters = new Map<number, MiddlewareHandler>();
  const limiterFor = (maxSize: number) => {
    let l = limiters.get(maxSize);
    if (!l) {
      l = bodyLimit({
        maxSize,
        onError: (c) => {
          c.header('connection', 'close');
          return c.json(
            {
              error: {
                code: 'body_too_large',
                message: `request body larger than ${maxSize} bytes for ${c.req.method} ${c.req.path}`,
              },
            },
            413,
          );
        },
      });
      limiters.set(maxSize, l);
    }
    return l;
  };
  return (c, next) =>
    limiterFor(ROUTE_BODY_BYTES[`${c.req.method} ${c.req.path}`] ?? DEFAULT_BODY_BYTES)(c, next);
}
