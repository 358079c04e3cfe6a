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
