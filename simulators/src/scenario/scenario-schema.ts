import { z } from 'zod';

/**
 * The scenario file of `village-sim run`: stations with devices of every protocol, people with
 * wristbands, cameras, and a timeline of phenomena. Durations are `500ms`, `30s`, `10m`, `2h`,
 * `1d` (or a number of ms); times of day are `HH:MM[:SS]`, optionally `Nd HH:MM` for a later day,
 * measured from the scenario start.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const id = z.string().regex(ID, 'must be an id: letters, digits and . _ : - (at most 64)');
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A length of time in ms. */
export const durationSchema = z.union(
  [
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'must be a duration like 500ms, 30s, 10m, 2h or 1d')
      .transform((s) => {
        const [, n, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s)!;
        return Math.round(Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS]);
      }),
  ],
  { error: 'must be a duration like 500ms, 30s, 10m, 2h or 1d (or a number of ms)' },
);

/** A time of day (from the scenario start), in ms since the start. */
export const clockSchema = z
  .string()
  .regex(/^(\d+d\s*)?([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be a time like 09:12, 09:12:30 or 1d 02:30')
  .transform((s) => {
    const [, day, hh, mm, ss] = /^(?:(\d+)d\s*)?(\d\d):(\d\d)(?::(\d\d))?$/.exec(s)!;
    return (
      Number(day ?? 0) * UNIT_MS.d + Number(hh) * UNIT_MS.h + Number(mm) * UNIT_MS.m + Number(ss ?? 0) * 1000
    );
  });

const hex8 = z
  .string()
  .regex(/^[0-9a-fA-F]{16}$/, 'must be 8 bytes of hex (16 digits)')
  .transform((s) => s.toLowerCase());

export const MODBUS_PROFILES = ['pm25-sensor', 'water-probe', 'weather-station'] as const;

const modbusDevice = z.strictObject({
  id,
  /** Modbus unit id on the station's simulated TCP gateway. */
  unitId: z.number().int().min(1).max(247),
  profile: z.enum(MODBUS_PROFILES),
  /** How often the device's registers take new values (the edge polls at its own rate). */
  every: durationSchema.default(60_000),
});

const lorawanDevice = z.strictObject({
  id,
  codec: z.enum(['lora-pm25', 'cayenne']),
  every: durationSchema.default(600_000),
});

const nbiotDevice = z.strictObject({
  id,
  codec: z.enum(['smoke-detector', 'well-cover']),
  every: durationSchema.default(3_600_000),
});

const camera = z.strictObject({
  id,
  /** ISAPI keep-alive period (a `videoloss` alert in state `inactive`). */
  heartbeat: durationSchema.default(3_600_000),
});

const station = z.strictObject({
  id,
  /** The edge serving this station (its edgeId). */
  edge: id,
  modbus: z.array(modbusDevice).default([]),
  lorawan: z
    .strictObject({
      gateways: z.array(hex8).min(1),
      devices: z.array(lorawanDevice).default([]),
    })
    .optional(),
  nbiot: z.array(nbiotDevice).default([]),
  cameras: z.array(camera).default([]),
});

const person = z.strictObject({
  id,
  name: z.string().min(1).max(100),
  station: id,
  livesAlone: z.boolean().default(false),
  /** Normal heart-rate band the simulated wearer stays in, bpm. */
  heartRate: z
    .tuple([z.number().int().min(30), z.number().int().max(200)])
    .refine(([lo, hi]) => lo < hi, 'must be [low, high] with low < high')
    .default([62, 90]),
  wristband: z.strictObject({
    id,
    /** LoRaWAN (through the station's gateway) or NB-IoT (CoAP straight to the edge). */
    network: z.enum(['lorawan', 'nbiot']),
    every: durationSchema.default(600_000),
  }),
});

const phenomenon = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('pollution-episode'),
    from: clockSchema,
    to: clockSchema,
    /** Stations affected; all when omitted. */
    stations: z.array(id).optional(),
    /** PM2.5 at the height of the episode, µg/m³. */
    peakPm25: z.number().positive().max(999).default(285),
  }),
  z.strictObject({ type: z.literal('fall'), at: clockSchema, person: id }),
  z.strictObject({ type: z.literal('sos'), at: clockSchema, person: id }),
  z.strictObject({ type: z.literal('intrusion'), at: clockSchema, camera: id }),
  z.strictObject({ type: z.literal('smoke'), at: clockSchema, device: id }),
  /** The station's edge loses its uplink to the cloud (the scenario runner cuts its MQTT relay). */
  z.strictObject({ type: z.literal('edge-outage'), from: clockSchema, to: clockSchema, station: id }),
]);

export const scenarioSchema = z
  .strictObject({
    name: id,
    /** Seeds every random choice: keys, noise, identities. Same seed → same bytes. */
    seed: z.union([z.number().int(), z.string().min(1)]).default(1),
    /** Scenario time zero (ISO 8601 with offset); put it at a local midnight so HH:MM reads as a clock. */
    start: z.iso.datetime({ offset: true }).default('2025-05-01T00:00:00+08:00'),
    duration: durationSchema.default(86_400_000),
    /** Scenario ms per wall-clock ms: 720 plays a day in two minutes. */
    compression: z.number().positive().max(1_000_000).default(720),
    stations: z.array(station).min(1),
    people: z.array(person).default([]),
    timeline: z.array(phenomenon).default([]),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    const unique = (value: string, path: (string | number)[]) => {
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path, message: `duplicate id ${value}` });
      seen.add(value);
    };
    const stations = new Set(s.stations.map((st) => st.id));
    const cameras = new Set<string>();
    const smoke = new Set<string>();
    s.stations.forEach((st, i) => {
      unique(st.id, ['stations', i, 'id']);
      const units = new Set<number>();
      st.modbus.forEach((d, j) => {
        unique(d.id, ['stations', i, 'modbus', j, 'id']);
        if (units.has(d.unitId))
          ctx.addIssue({
            code: 'custom',
            path: ['stations', i, 'modbus', j, 'unitId'],
            message: `unit ${d.unitId} used twice`,
          });
        units.add(d.unitId);
      });
      st.lorawan?.devices.forEach((d, j) => unique(d.id, ['stations', i, 'lorawan', 'devices', j, 'id']));
      st.nbiot.forEach((d, j) => {
        unique(d.id, ['stations', i, 'nbiot', j, 'id']);
        if (d.codec === 'smoke-detector') smoke.add(d.id);
      });
      st.cameras.forEach((c, j) => {
        unique(c.id, ['stations', i, 'cameras', j, 'id']);
        cameras.add(c.id);
      });
    });
    const people = new Set<string>();
    s.people.forEach((p, i) => {
      unique(p.id, ['people', i, 'id']);
      unique(p.wristband.id, ['people', i, 'wristband', 'id']);
      people.add(p.id);
      const st = s.stations.find((x) => x.id === p.station);
      if (!st)
        ctx.addIssue({ code: 'custom', path: ['people', i, 'station'], message: `no station ${p.station}` });
      else if (p.wristband.network === 'lorawan' && !st.lorawan)
        ctx.addIssue({
          code: 'custom',
          path: ['people', i, 'wristband', 'network'],
          message: `station ${p.station} has no lorawan gateway`,
        });
    });
    s.timeline.forEach((ph, i) => {
      const bad = (key: string, message: string) =>
        ctx.addIssue({ code: 'custom', path: ['timeline', i, key], message });
      if ('from' in ph && ph.to <= ph.from) bad('to', 'must be after from');
      const at = 'at' in ph ? ph.at : ph.from;
      if (at >= s.duration) bad('at' in ph ? 'at' : 'from', 'is after the end of the scenario');
      if (ph.type === 'fall' || ph.type === 'sos') {
        if (!people.has(ph.person)) bad('person', `no person ${ph.person}`);
      } else if (ph.type === 'intrusion') {
        if (!cameras.has(ph.camera)) bad('camera', `no camera ${ph.camera}`);
      } else if (ph.type === 'smoke') {
        if (!smoke.has(ph.device)) bad('device', `no smoke detector ${ph.device}`);
      } else if (ph.type === 'edge-outage') {
        if (!stations.has(ph.station)) bad('station', `no station ${ph.station}`);
      } else {
        ph.stations?.forEach((st, j) => {
          if (!stations.has(st))
            ctx.addIssue({
              code: 'custom',
              path: ['timeline', i, 'stations', j],
              message: `no station ${st}`,
            });
        });
      }
    });
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioStation = Scenario['stations'][number];
export type ScenarioPerson = Scenario['people'][number];
export type Phenomenon = Scenario['timeline'][number];
