import type { PlacesResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { Db } from '../store/open-database.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

/**
 * `GET /api/v1/places` → `{ places: [{ county, countyName, town, townName, village, villageName,
 * station, stationName, waterBody }] }`: one row per station of the caller's villages (registry.yaml), so the
 * dashboard can name and group what /devices and /latest report by id.
 */
export function createPlaceRoutes(db: Db): Hono {
  const app = new Hono();
  const select = db.prepare<
    [],
    {
      county: string;
      countyName: string;
      town: string;
      townName: string;
      village: string;
      villageName: string;
      station: string;
      stationName: string;
      waterBody: 'river' | 'lake' | 'reservoir' | null;
    }
  >(
    `SELECT c.id AS county, c.name AS countyName, t.id AS town, t.name AS townName,
            v.id AS village, v.name AS villageName, s.id AS station, s.name AS stationName,
            s.water_body AS waterBody
       FROM stations s JOIN villages v ON v.id = s.village JOIN towns t ON t.id = v.town
       JOIN counties c ON c.id = t.county
      ORDER BY c.id, t.id, v.id, s.id`,
  );
  app.get('/api/v1/places', (c) => {
    const scope = scopeOf(c);
    return c.json({
      places: select.all().filter((p) => canSeeVillage(scope, p.village)),
    } satisfies PlacesResponse);
  });
  return app;
}
