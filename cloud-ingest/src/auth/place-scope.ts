import { ConfigError } from '@village/service-kit';
import type { RequestScope } from '../http/request-scope.js';
import type { Db } from '../store/open-database.js';
import type { UserConfig } from './user-config.js';

/** A request scope that sees nothing: the unauthenticated caller of a public route (health). */
export const NO_ACCESS: RequestScope = {
  actor: 'unauthenticated',
  role: 'anonymous',
  villages: new Set(),
  personalData: false,
};

/**
 * Turns each configured user into the scope of every request they make: the villages under their
 * place (county → its towns' villages, town → its villages, village → itself; admin → all), read
 * from the registry tables once, since registry.yaml is only reloaded by a restart.
 *
 * Personal data (names of people under care) is unmasked for admins and village officers, who
 * visit the people concerned; town and county officers see masked names (they act on counts and
 * deadlines, not on who). Throws ConfigError naming the user whose place is not in the registry.
 */
export function resolveUserScopes(db: Db, users: readonly UserConfig[]): Map<string, RequestScope> {
  const rows = db
    .prepare<[], { village: string; town: string; county: string }>(
      'SELECT v.id AS village, t.id AS town, t.county AS county FROM villages v JOIN towns t ON t.id = v.town',
    )
    .all();
  const exists = {
    county: db.prepare<[string], { id: string }>('SELECT id FROM counties WHERE id = ?'),
    town: db.prepare<[string], { id: string }>('SELECT id FROM towns WHERE id = ?'),
    village: db.prepare<[string], { id: string }>('SELECT id FROM villages WHERE id = ?'),
  };
  const scopes = new Map<string, RequestScope>();
  users.forEach((u, i) => {
    let villages: RequestScope['villages'] = 'all';
    if (u.role !== 'admin') {
      const level = u.role;
      if (exists[level].get(u.place!) === undefined) {
        throw new ConfigError(`cloud.yaml: users.${i}.place: no ${level} ${u.place} in the registry`);
      }
      villages = new Set(rows.filter((r) => r[level] === u.place).map((r) => r.village));
    }
    scopes.set(u.username, {
      actor: u.username,
      role: u.role,
      villages,
      personalData: u.role === 'admin' || u.role === 'village',
    });
  });
  return scopes;
}
