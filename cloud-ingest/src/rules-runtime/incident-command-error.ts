import { RulesError } from '@village/rules';
import type { IncidentView } from './incident-view.js';

/**
 * An incident command (acknowledge, arrive, resolve) the current state refuses. `code` says why:
 * `unknown_incident` (no such incident), `bad_transition` (not allowed in its state), or the rules
 * library's code for a bad argument; the routes map it to an HTTP status (http/incident-routes.ts).
 */
export class IncidentCommandError extends Error {
  override readonly name = 'IncidentCommandError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The command error for what the rules engine threw while running a command on incident `id`
 * (`stored` is the incident as stored, if any): an incident the engine no longer holds but the
 * store does was closed, so the command is a bad transition. Anything but a RulesError is rethrown.
 */
export function incidentCommandError(err: unknown, id: string, stored: IncidentView | undefined): never {
  if (!(err instanceof RulesError)) throw err;
  if (err.code === 'unknown_incident') {
    if (stored) throw new IncidentCommandError('bad_transition', `incident ${id} is ${stored.state}`);
    throw new IncidentCommandError('unknown_incident', `no incident ${id}`);
  }
  throw new IncidentCommandError(err.code, err.message);
}
