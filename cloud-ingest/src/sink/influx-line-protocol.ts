import { escape as lp } from '@influxdata/influxdb-client';
import type { Reading } from '@village/protocol';
import type { PlaceTags, SinkBatch } from './sink.js';

/**
 * The InfluxDB schema (DESIGN.md "Sinks"), as line protocol with millisecond timestamps:
 *
 *   <device kind>,county=…,town=…,village=…,station=…,device=… <metric>=<value>[,…] <ts>
 *   <events>,county=…,…,device=…,type=… severity="…",edge="…",historical=…,received_at=…i,data="{json}" <ts>
 *
 * - One line per (device, ts): the metrics a device reported at one instant share a line.
 * - Field types never change within a series (an InfluxDB field has one type per shard, and a
 *   conflicting write is refused with 400): numbers and booleans are floats (booleans as 0/1, the
 *   history reads them back as booleans from the series catalog), strings are strings.
 * - A reading of quality `bad` whose value is a string (Modbus readings carry the exception name,
 *   e.g. "IllegalDataAddress") goes to `<metric>_error`, so a numeric series stays numeric.
 * - Quality is a field `<metric>_q` ("suspect" | "bad"), written only when not good: as a tag it
 *   would split every series in three and make a rewrite with another quality a second point
 *   instead of an overwrite; as an always-written field it would cost bytes on every reading for
 *   the rare case. Absent means good.
 * - Tags with no value (an edge without a station) are left out.
 * A point is keyed by (measurement, tags, ts), so a resent batch overwrites identical points.
 */

/** Field names derived from a metric name (the history reads the same names). */
export const fieldNames = (metric: string) => ({
  value: metric,
  error: `${metric}_error`,
  quality: `${metric}_q`,
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
  else if (r.quality === 'bad') into.set(lp.tag(names.error), quoted(v));
  else into.set(lp.tag(names.value), quoted(v));
  if (r.quality !== 'good') into.set(lp.tag(names.quality), quoted(r.quality));
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
  const place = placeTags(batch.place);
  // (device, ts) → fields, in first-seen order; a later reading of the same key wins, as a rewrite would.
  const points = new Map<string, { device: string; ts: number; fields: Map<string, string> }>();
  for (const r of batch.readings) {
    const key = `${r.device}\u0000${r.ts}`;
    let p = points.get(key);
    if (p === undefined) {
      p = { device: r.device, ts: r.ts, fields: new Map() };
      points.set(key, p);
    }
    fieldsOf(r, p.fields);
  }
  const lines: string[] = [];
  const prefixes = new Map<string, string>();
  for (const p of points.values()) {
    let prefix = prefixes.get(p.device);
    if (prefix === undefined) {
      prefix = `${lp.measurement(measurementOf(p.device))}${place},device=${lp.tag(p.device)} `;
      prefixes.set(p.device, prefix);
    }
    let fields = '';
    for (const [k, v] of p.fields) fields += fields ? `,${k}=${v}` : `${k}=${v}`;
    lines.push(`${prefix}${fields} ${p.ts}`);
  }
  const events = lp.measurement(eventsMeasurement);
  for (const e of batch.events) {
    lines.push(
      `${events}${place},device=${lp.tag(e.device)},type=${lp.tag(e.type)} ` +
        `severity=${quoted(e.severity)},edge=${quoted(batch.edgeId)},historical=${batch.historical},` +
        `received_at=${batch.receivedAt}i,data=${quoted(JSON.stringify(e.data))} ${e.ts}`,
    );
  }
  return lines;
}
