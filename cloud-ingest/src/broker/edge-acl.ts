import { parseTopic } from '@village/protocol';

/**
 * Topic ACL of DESIGN.md: an edge publishes only under its own `up/` and subscribes only to its
 * own `down/` (the `down/#` filter, `down/+`, or a concrete down topic). Pure functions.
 */
export function mayPublish(edgeId: string, topic: string): boolean {
  try {
    const t = parseTopic(topic);
    return t.direction === 'up' && t.edgeId === edgeId;
  } catch {
    return false;
  }
}

export function maySubscribe(edgeId: string, filter: string): boolean {
  if (filter === `v1/e/${edgeId}/down/#` || filter === `v1/e/${edgeId}/down/+`) return true;
  try {
    const t = parseTopic(filter);
    return t.direction === 'down' && t.edgeId === edgeId;
  } catch {
    return false;
  }
}
