import { randomUUID } from 'node:crypto';
import {
  type Command,
  LIMITS,
  ProtocolError,
  type Value,
  decodeCommand,
  encodeJson,
  isValidId,
} from '@village/protocol';
import type { CommandResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { CommandStore } from '../store/command-store.js';
import type { RegistryStore } from '../store/registry-store.js';
import { ApiError } from './api-error.js';
import { COMMAND_ROLES, canSeeVillage, mayCommand, scopeOf } from './request-scope.js';

export interface CommandRouteDeps {
  commands: CommandStore;
  registry: RegistryStore;
  /** Publishes the command QoS 1 on `v1/e/{edge}/down/cmd`. */
  send(edge: string, cmd: Command): Promise<void>;
  log: Logger;
  now(): number;
}

/** Commands expire after this long unless the request says otherwise, ms. */
const DEFAULT_TTL_MS = 60_000;
const MAX_TTL_MS = 24 * 3_600_000;

/** Largest request body of POST /api/v1/commands: a command cannot be larger than the edge accepts. */
export const COMMAND_BODY_BYTES = LIMITS.maxControlBytes;

/**
 * `POST /api/v1/commands` sends a command to the edge that serves the device (e.g. switch a siren
 * relay); `GET /api/v1/commands/:id` tells what became of it once the edge answered on `up/cmd-result`.
 * Both are scoped: only COMMAND_ROLES send, only to devices of villages in the caller's scope, and a
 * command of a device outside the scope is a 404 like an unknown one. The actor is stored and logged.
 */
export function createCommandRoutes(deps: CommandRouteDeps): Hono {
  const app = new Hono();

  const deviceOf = (id: string) => deps.registry.devices().find((d) => d.id === id);

  app.post('/api/v1/commands', async (c) => {
    const scope = scopeOf(c);
    if (!mayCommand(scope)) {
      throw new ApiError(
        403,
        'forbidden',
        `role ${scope.role} may not send commands (allowed: ${COMMAND_ROLES.join(', ')})`,
      );
    }
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
    const row = deviceOf(device);
    // Out of scope answers like unknown: an officer does not learn which devices exist elsewhere.
    if (!row?.edge || !canSeeVillage(scope, row.village))
      throw new ApiError(404, 'unknown_device', `no edge serves device ${device}`);
    const now = deps.now();
    const cmd: Command & { expiresAt: number } = {
      id: randomUUID(),
      device,
      action: body.action,
      params: params as Record<string, Value>,
      expiresAt: now + ttlMs,
    };
    // The edge's own decoder is the bound: what it would refuse is refused here, before storing.
    try {
      decodeCommand(encodeJson(cmd));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (err.code === 'too_large') {
        throw new ApiError(
          413,
          'command_too_large',
          `the command is larger than the ${LIMITS.maxControlBytes} bytes an edge accepts: make params smaller`,
        );
      }
      throw new ApiError(400, 'bad_command', `the edge would refuse this command: ${err.message}`);
    }
    const stored = await deps.commands.insert(row.edge, cmd, scope.actor, now);
    deps.log.info(
      { actor: scope.actor, id: cmd.id, edge: row.edge, device, action: cmd.action, village: row.village },
      'command sent',
    );
    await deps.send(row.edge, cmd);
    return c.json({ command: stored } satisfies CommandResponse, 202);
  });

  app.get('/api/v1/commands/:id', async (c) => {
    const row = await deps.commands.get(c.req.param('id'));
    // The village of the edge it went to: that is where it acted.
    const village = row && deps.registry.placeOf(row.edge).village;
    if (!row || !canSeeVillage(scopeOf(c), village))
      throw new ApiError(404, 'unknown_command', `no command ${c.req.param('id')}`);
    return c.json({ command: row } satisfies CommandResponse);
  });

  return app;
}
