import { z } from 'zod/mini';

/** One station of the caller's villages with its names (`GET /places`). */
export const placeSchema = z.object({
  county: z.string(),
  countyName: z.string(),
  town: z.string(),
  townName: z.string(),
  village: z.string(),
  villageName: z.string(),
  station: z.string(),
  stationName: z.string(),
  /** The water body a water station samples (registry.yaml); null for other stations. */
  waterBody: z.nullable(z.enum(['river', 'lake', 'reservoir'])),
});
export type Place = z.infer<typeof placeSchema>;

export const placesResponseSchema = z.object({ places: z.array(placeSchema) });
export type PlacesResponse = z.infer<typeof placesResponseSchema>;

/** A person under care (`GET /people`); `name` is masked (张*) unless the caller may see personal data. */
export const personSchema = z.object({
  id: z.string(),
  name: z.string(),
  station: z.string(),
  village: z.nullable(z.string()),
  wristband: z.nullable(z.string()),
  livesAlone: z.boolean(),
  masked: z.boolean(),
});
export type Person = z.infer<typeof personSchema>;

export const peopleResponseSchema = z.object({ people: z.array(personSchema) });
export type PeopleResponse = z.infer<typeof peopleResponseSchema>;
