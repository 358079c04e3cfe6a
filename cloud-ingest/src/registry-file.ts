import { basename } from 'node:path';
import { ID_PATTERN } from '@village/protocol';
import { ConfigError, describeIssues, readYamlFile } from '@village/service-kit';
import { z } from 'zod';
import { usersSchema } from './auth/user-config.js';

/**
 * registry.yaml: county → town → village → station → edges, plus people under care and
 * optionally pre-registered devices and officers. The store (cloud.db) holds the registry; this file is
 * its import and export format (`village-cloud registry import|export`, store/registry-import.ts).
 */
export const registryId = z.string().regex(ID_PATTERN, 'must be a valid id ([A-Za-z0-9][A-Za-z0-9._:-]*)');
const id = registryId;
export const registryName = z.string().min(1).max(200);
const name = registryName;
export const registryRange = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => lo <= hi, 'must be [low, high] with low <= high')
  .optional();
const range = registryRange;

/**
 * A time of day 'HH:MM' in the county's local time: the rules read it in cloud.yaml's
 * `rules.elderCare.utcOffsetMinutes` (default 480, China Standard Time), not the host's zone.
 */
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a local time 'HH:MM' (00:00-23:59)");
/** A window's end may be 24:00 (to midnight); a window never crosses midnight, as in the rules. */
export const dailyWindow = z
  .strictObject({
    from: clockTime,
    to: z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, "must be a local time 'HH:MM' (00:00-24:00)"),
  })
  .refine((w) => w.to > w.from, { path: ['to'], message: 'must be after from (no window across midnight)' });

export const stationSchema = z.strictObject({
  id,
  name,
  edges: z.array(id).default([]),
  /** The water body a water-quality station samples: GB 3838-2002 has lake/reservoir limits for TP and TN. */
  waterBody: z.enum(['river', 'lake', 'reservoir']).optional(),
});
const villageSchema = z.strictObject({ id, name, stations: z.array(stationSchema).default([]) });
const townSchema = z.strictObject({ id, name, villages: z.array(villageSchema).default([]) });
const countySchema = z.strictObject({ id, name, towns: z.array(townSchema).default([]) });

export const personSchema = z.strictObject({
  id,
  name,
  station: id,
  wristband: id.optional(),
  livesAlone: z.boolean().default(false),
  /** Alert bounds, beats per minute. */
  heartRate: range,
  /** Alert bounds, percent oxygen saturation. */
  spo2: range,
  /** Local waking hours ('HH:MM'), when no-movement and not-worn rules apply. Rules default 07:00–21:00. */
  waking: dailyWindow.optional(),
  /** Quiet windows (午休), local 'HH:MM': no-movement time inside them does not count. */
  quiet: z.array(dailyWindow).max(8).optional(),
  /**
   * The wristband's expected reporting interval, ms: silence is judged against it. Without
   * it the rules learn the rhythm from the band's gaps, after cloud.yaml's default at first.
   */
  reportIntervalMs: z.number().int().min(1_000).optional(),
});

const registrySchema = z
  .strictObject({
    counties: z.array(countySchema).default([]),
    people: z.array(personSchema).default([]),
    devices: z
      .array(z.strictObject({ id, edge: id, kind: z.string().min(1), driver: z.string().min(1) }))
      .default([]),
    /**
     * Officers kept in the store (added by an admin, docs/operations.md); absent = an import leaves
     * the store's users as they are. Officers in cloud.yaml `users:` stay there and are not listed here.
     */
    users: usersSchema,
  })
  .superRefine((reg, ctx) => {
    const seen = new Map<string, string>();
    const stationIds = new Set<string>();
    const edgeStation = new Map<string, string>();
    const unique = (kind: string, value: string, path: (string | number)[]) => {
      const key = `${kind}:${value}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path, message: `duplicate ${kind} id ${value}` });
      seen.set(key, kind);
    };
    reg.counties.forEach((c, ci) => {
      unique('county', c.id, ['counties', ci, 'id']);
      c.towns.forEach((t, ti) => {
        unique('town', t.id, ['counties', ci, 'towns', ti, 'id']);
        t.villages.forEach((v, vi) => {
          unique('village', v.id, ['counties', ci, 'towns', ti, 'villages', vi, 'id']);
          v.stations.forEach((s, si) => {
            const path = ['counties', ci, 'towns', ti, 'villages', vi, 'stations', si];
            unique('station', s.id, [...path, 'id']);
            stationIds.add(s.id);
            s.edges.forEach((e, ei) => {
              const other = edgeStation.get(e);
              if (other !== undefined) {
                ctx.addIssue({
                  code: 'custom',
                  path: [...path, 'edges', ei],
                  message: `edge ${e} is already at station ${other}`,
                });
              }
              edgeStation.set(e, s.id);
            });
          });
        });
      });
    });
    reg.people.forEach((p, i) => {
      unique('person', p.id, ['people', i, 'id']);
      if (!stationIds.has(p.station)) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', i, 'station'],
          message: `unknown station ${p.station}`,
        });
      }
    });
    reg.devices.forEach((d, i) => {
      unique('device', d.id, ['devices', i, 'id']);
    });
    reg.users?.forEach((u, i) => {
      if (u.role !== 'admin' && !seen.has(`${u.role}:${u.place}`))
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'place'],
          message: `unknown ${u.role} ${u.place}`,
        });
    });
  });

export type RegistryFile = z.infer<typeof registrySchema>;

export const EMPTY_REGISTRY: RegistryFile = { counties: [], people: [], devices: [] };

export function parseRegistry(raw: unknown, fileName = 'registry.yaml'): RegistryFile {
  const result = registrySchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(describeIssues(fileName, result.error.issues));
  return result.data;
}

export function loadRegistry(path: string): RegistryFile {
  const fileName = basename(path);
  return parseRegistry(readYamlFile(path, fileName), fileName);
}
