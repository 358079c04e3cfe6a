import { randomUUID } from 'node:crypto';
import { type Command, type Value, isValidId } from '@village/protocol';
import { Hono } from 'hono';
import type { CommandStore } from '../store/command-store.js';
import type { RegistryStore } from '../store/registry-store.js';
import { ApiError } from './api-error.js';

export interface CommandRouteDeps {
  commands: CommandStore;
  registry: RegistryStore;
  /** Publishes the command QoS 1 on `v1/e/{edge}/down/cmd`. */
  send(edge: string, cmd: Command): Promise<void>;
  now(): number;
}

/** Commands expire after this long unless the request says otherwise, ms. */
const DEFAULT_TTL_MS = 60_000;
const MAX_TTL_MS = 24 * 3_600_000;

/**
 * `POST /api/v1/commands` sends a command to the edge that serves the device (e.g. switch a siren
 * relay); `GET /api/v1/commands/:id` tells what became of it once the edge answered on `up/cmd-result`.
 */
export function createCommandRoutes(deps: CommandRouteDeps): Hono {
  const app = new Hono();

  app.post('/api/v1/commands', async (c) => {
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(400, 'bad_body', 'body must be a JSON object');
    }
    const device = body?.device;
    if (typeof device !== 'string' || !isValidId(device))
      throw new ApiError(400, 'bad_param', `device must be an id, got ${JSON.stringify(device)}`);
    if (typeof body.action !== 'string' || !isValidId(body.action)) {
      throw new ApiError(400, 'bad_param', `action must be an id, got ${JSON.stringify(body.action)}`);
    }
    const params = body.params ?? {};
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      throw new ApiError(400, 'bad_param', 'params must be an object');
    }
    const ttlMs = body.ttlMs ?? DEFAULT_TTL_MS;
    if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1_000 || ttlMs > MAX_TTL_MS) {
      throw new ApiError(
        400,
        'bad_param',
        `ttlMs must be an integer from 1000 to ${MAX_TTL_MS}, got ${JSON.stringify(ttlMs)}`,
      );
    }
    const edge = deps.registry.devices().find((d) => d.id === device)?.edge;
    if (!edge) throw new ApiError(404, 'unknown_device', `no edge serves device ${device}`);
    const now = deps.now();
    const cmd: Command & { expiresAt: number } = {
      id: randomUUID(),
      device,
      action: body.action,
      params: params as Record<string, Value>,
      expiresAt: now + ttlMs,
    };
    const row = deps.commands.insert(edge, cmd, now);
    await deps.send(edge, cmd);
    return c.json({ command: row }, 202);
  });

  app.get('/api/v1/commands/:id', (c) => {
    const row = deps.commands.get(c.req.param('id'));
    if (!row) throw new ApiError(404, 'unknown_command', `no command ${c.req.param('id')}`);
    return c.json({ command: row });
  });

  return app;
}
