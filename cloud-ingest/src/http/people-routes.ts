import type { PeopleResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import { maskName } from '../auth/mask-personal.js';
import type { Db } from '../store/open-database.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

/**
 * `GET /api/v1/people` → `{ people: [{ id, name, station, village, wristband, livesAlone, masked }] }`:
 * the people under care in the caller's villages (registry.yaml), for the elder-care panel. Names
 * are masked (张三 → 张*) unless the caller's role allows personal data.
 */
export function createPeopleRoutes(db: Db): Hono {
  const app = new Hono();
  const select = db.prepare<
    [],
    {
      id: string;
      name: string;
      station: string;
      village: string | null;
      wristband: string | null;
      lives_alone: number;
    }
  >(
    `SELECT p.id, p.name, p.station, s.village, p.wristband, p.lives_alone
       FROM people p LEFT JOIN stations s ON s.id = p.station ORDER BY p.id`,
  );
  app.get('/api/v1/people', (c) => {
    const scope = scopeOf(c);
    const people = select
      .all()
      .filter((p) => canSeeVillage(scope, p.village))
      .map((p) => ({
        id: p.id,
        name: scope.personalData ? p.name : maskName(p.name),
        station: p.station,
        village: p.village,
        wristband: p.wristband,
        livesAlone: p.lives_alone === 1,
        masked: !scope.personalData,
      }));
    return c.json({ people } satisfies PeopleResponse);
  });
  return app;
}
