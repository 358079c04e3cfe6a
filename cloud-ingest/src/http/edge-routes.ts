import type { EdgesResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { EdgeStateStore } from '../store/edge-state-store.js';
import type { RegistryStore } from '../store/registry-store.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

/**
 * `GET /api/v1/edges` → `{ edges: [{ id, village, online, boot, lastSeen, state, alerts }] }`: each
 * edge in the caller's villages with its last state report (outbox depth and oldest unsent age,
 * drivers, free disk, clock offset, version; null before the first) and its recent alerts.
 */
export function createEdgeRoutes(deps: { registry: RegistryStore; states: EdgeStateStore }): Hono {
  const app = new Hono();
  app.get('/api/v1/edges', (c) => {
    const scope = scopeOf(c);
    const edges = deps.registry
      .edges()
      .map((e) => ({ e, village: deps.registry.placeOf(e.id).village }))
      .filter(({ village }) => canSeeVillage(scope, village))
      .map(({ e, village }) => ({
        id: e.id,
        village: village ?? null,
        online: e.online,
        boot: e.boot,
        lastSeen: e.lastSeen,
        state: deps.states.get(e.id) ?? null,
        alerts: deps.states.alerts(e.id),
      }));
    return c.json({ edges } satisfies EdgesResponse);
  });
  return app;
}
