import { escape as lp } from '@influxdata/influxdb-client';
import type { DeviceEvent, Reading } from '@village/protocol';
import type { PlaceTags, SinkBatch } from './sink.js';

/**
 * The InfluxDB schema (DESIGN.md "Sinks"), as line protocol with millisecond timestamps:
 *
 *   <device kind>,county=…,town=…,village=…,station=…,device=… <metric>=<value>[,…] <ts>
 *   <events>,county=…,…,device=…,type=… severity="…",edge="…",historical=…,received_at=…i,data="{json}" <ts>
 *
 * - One line per (device, ts): the metrics a device reported at one instant share a line.
 * - Each field has one type, fixed by its name, whoever writes first (an InfluxDB field has one
 *   type per measurement and shard, and a conflicting write is refused with 400 for good, so a
 *   type chosen by the first value seen would let one edge's string lock every other edge's
 *   numbers out of the measurement): `<metric>` is always a float (numbers; booleans as 0/1),
 *   `<metric>_error` and `<metric>_q` are always strings.
 * - So a string value goes to `<metric>_error`: a Modbus exception name ("IllegalDataAddress", of
 *   quality `bad`), an "n/a" sent for a numeric series, or the values of a series that only ever
 *   had strings. The series catalog (influx-series-catalog.ts) records each (device, metric)'s
 *   value type, and the history reads the error field back as the value of a string series.
 *   (Data written before this rule may hold strings in `<metric>`; the history still reads them.)
 * - Quality is a field `<metric>_q` ("suspect" | "bad"), written only when not good: as a tag it
 *   would split every series in three and make a rewrite with another quality a second point
 *   instead of an overwrite; as an always-written field it would cost bytes on every reading for
 *   the rare case. Absent means good.
 * - The data flag quality control gives a reading (HJ 212 style, issue 16) is a string field
 *   `<metric>_flag`, written after the reading on its own line with the same measurement, tags
 *   and time, which InfluxDB merges into the reading's point. A field, not a tag: as a tag an
 *   officer's invalidation would make a second point beside the reading instead of marking it,
 *   and means over the series would count both. Absent means `N`; a restore writes "N".
 * - Tags with no value (an edge without a station) are left out.
 * A point is keyed by (measurement, tags, ts), so a resent batch overwrites identical points.
 */

/** Field names derived from a metric name (the history reads the same names). */
export const fieldNames = (metric: string) => ({
  value: metric,
  error: `${metric}_error`,
  quality: `${metric}_q`,
  flag: `${metric}_flag`,
});

const TAG_KEYS = ['county', 'town', 'village', 'station'] as const;

function placeTags(place: PlaceTags): string {
  let s = '';
  for (const k of TAG_KEYS) {
    const v = place[k];
    if (v !== null && v !== '') s += `,${k}=${lp.tag(v)}`;
  }
  return s;
}

/** A string field value: the client's escaper adds the double quotes. */
const quoted = (v: string) => lp.quoted(v);

function fieldsOf(r: Reading, into: Map<string, string>): void {
  const names = fieldNames(r.metric);
  const v = r.value;
  if (typeof v === 'number') into.set(lp.tag(names.value), String(v));
  else if (typeof v === 'boolean') into.set(lp.tag(names.value), v ? '1' : '0');
  else into.set(lp.tag(names.error), quoted(v));
  if (r.quality !== 'good') into.set(lp.tag(names.quality), quoted(r.quality));
}

/** One line and what it carries, so a line InfluxDB refuses can be dead-lettered as its readings. */
export interface InfluxPoint {
  line: string;
  readings: Reading[];
  events: DeviceEvent[];
}

/**
 * Line protocol for a batch. `measurementOf(device)` names the device's measurement (its kind).
 * Numbers that line protocol cannot carry (NaN, ±Infinity) never reach here: the batch decoder
 * refuses them.
 */
export function batchToLines(
  batch: SinkBatch,
  measurementOf: (device: string) => string,
  eventsMeasurement: string,
): string[] {
  return batchToPoints(batch, measurementOf, eventsMeasurement).map((p) => p.line);
}

/** The lines of `batchToLines`, each with the readings or the event it was made of. */
export function batchToPoints(
  batch: SinkBatch,
  measurementOf: (device: string) => string,
  eventsMeasurement: string,
): InfluxPoint[] {
  const place = placeTags(batch.place);
  // (device, ts) → fields, in first-seen order; a later reading of the same key wins, as a rewrite would.
  const points = new Map<
    string,
    { device: string; ts: number; fields: Map<string, string>; readings: Reading[] }
  >();
  for (const r of batch.readings) {
    const key = `${r.device}\u0000${r.ts}`;
    let p = points.get(key);
    if (p === undefined) {
      p = { device: r.device, ts: r.ts, fields: new Map(), readings: [] };
      points.set(key, p);
    }
    fieldsOf(r, p.fields);
    p.readings.push(r);
  }
  const lines: InfluxPoint[] = [];
  const prefixes = new Map<string, string>();
  for (const p of points.values()) {
    let prefix = prefixes.get(p.device);
    if (prefix === undefined) {
      prefix = `${lp.measurement(measurementOf(p.device))}${place},device=${lp.tag(p.device)} `;
      prefixes.set(p.device, prefix);
    }
    let fields = '';
    for (const [k, v] of p.fields) fields += fields ? `,${k}=${v}` : `${k}=${v}`;
    lines.push({ line: `${prefix}${fields} ${p.ts}`, readings: p.readings, events: [] });
  }
  const events = lp.measurement(eventsMeasurement);
  for (const e of batch.events) {
    lines.push({
      line:
        `${events}${place},device=${lp.tag(e.device)},type=${lp.tag(e.type)} ` +
        `severity=${quoted(e.severity)},edge=${quoted(batch.edgeId)},historical=${batch.historical},` +
        `received_at=${batch.receivedAt}i,data=${quoted(JSON.stringify(e.data))} ${e.ts}`,
      readings: [],
      events: [e],
    });
  }
  return lines;
}

/** Lines that set the `<metric>_flag` field of stored readings (same measurement, tags and time). */
export function flagLines(
  place: PlaceTags,
  flags: readonly { device: string; metric: string; ts: number; flag: string }[],
  measurementsOf: (device: string, metric: string) => readonly string[],
): string[] {
  const tags = placeTags(place);
  const lines: string[] = [];
  for (const f of flags)
    for (const m of measurementsOf(f.device, f.metric))
      lines.push(
        `${lp.measurement(m)}${tags},device=${lp.tag(f.device)} ${lp.tag(fieldNames(f.metric).flag)}=${quoted(f.flag)} ${f.ts}`,
      );
  return lines;
}
