import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The peer address of the request's TCP connection. Forwarded-for headers are not trusted: any
 * client can write them (a reverse proxy in front would make every officer one address, see
 * docs/security.md). 'unknown' when the request did not come through the Node server (tests
 * calling app.request).
 */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
