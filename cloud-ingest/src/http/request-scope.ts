import type { Context } from 'hono';

/**
 * Who is asking, and what they may see. The auth middleware sets it per request
 * (`c.set('scope', …)`); every route filters by it, so an officer of village A cannot read
 * village B through any endpoint. With no users configured (a lab or the demo without logins)
 * every request has full access and acts as `anonymous`.
 */
export interface RequestScope {
  /** Officer id, written into audit trails (acknowledgements, resolutions, commands). */
  actor: string;
  role: 'admin' | 'county' | 'town' | 'village' | 'anonymous';
  /** Village ids this request may see, or 'all'. */
  villages: ReadonlySet<string> | 'all';
  /** Whether names and contact details of people under care are shown unmasked. */
  personalData: boolean;
}

export const FULL_ACCESS: RequestScope = {
  actor: 'anonymous',
  role: 'anonymous',
  villages: 'all',
  personalData: true,
};

export function scopeOf(c: Context): RequestScope {
  return (c.get('scope' as never) as RequestScope | undefined) ?? FULL_ACCESS;
}

export function canSeeVillage(scope: RequestScope, village: string | null | undefined): boolean {
  if (scope.villages === 'all') return true;
  return village != null && scope.villages.has(village);
}

/**
 * Roles that may send commands to devices (sirens, relays): admins anywhere and village officers
 * in their own village, who are on site and answer for what a command does there. Town and county
 * officers oversee (read, acknowledge, resolve) but do not switch a village's devices.
 */
export const COMMAND_ROLES: readonly RequestScope['role'][] = ['admin', 'village'];

/** Whether this caller may send commands at all (lab mode: yes, it has full access). */
export function mayCommand(scope: RequestScope): boolean {
  return scope === FULL_ACCESS || COMMAND_ROLES.includes(scope.role);
}
