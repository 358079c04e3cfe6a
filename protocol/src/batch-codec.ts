import { Decoder, Encoder } from 'cbor-x';
import { ProtocolError } from './errors.js';
import { LEGACY_EPOCH, LIMITS } from './limits.js';
import {
  checkEpoch,
  checkEvent,
  checkEventData,
  checkId,
  checkReading,
  checkTimestamp,
  checkUnit,
  checkValue,
} from './reading-check.js';
import type { Batch, DeviceEvent, Quality, Reading, Severity } from './types.js';

/**
 * Batch wire format, version 1: one CBOR map (RFC 8949), columnar so repeated names and
 * timestamps cost almost nothing.
 *
 *   v  1                      format version
 *   e  edge id                s  seq            b  boot        c  createdAt (ms)     h  historical
 *   ep outbox epoch (optional: absent from edges that predate epochs, read as LEGACY_EPOCH)
 *   d  [device names]         m  [metric names] u  [units]
 *   k  [d0, m0, u0, d1, m1, u1, ...]  series table: indexes into d, m, u
 *   t0 base timestamp (ms)
 *   rs [series index per reading]
 *   rt [timestamp delta per reading, from the previous reading (the first from t0)]
 *   rx [value per reading: a decimal mantissa, a float, a boolean or a string]
 *   rp [decimal exponent per reading: value = rx / 10^rp; 0 for anything not a scaled decimal]
 *   rq [index, quality code, index, quality code, ...] only for readings that are not `good`
 *   ev [[device index, type, severity code, ts, data], ...]
 *
 * Sensor values are short decimals (23.4, 0.051), which as IEEE doubles cost 9 bytes in CBOR;
 * as mantissa + exponent they cost 2-4. Division of two exactly representable numbers is
 * correctly rounded, so m / 10^p gives back the very double the edge had (checked before use).
 */
export const BATCH_FORMAT_VERSION = 1;

const QUALITY_CODE: Record<Quality, number> = { good: 0, suspect: 1, bad: 2 };
const QUALITY_BY_CODE: Quality[] = ['good', 'suspect', 'bad'];
const SEVERITY_CODE: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const SEVERITY_BY_CODE: Severity[] = ['info', 'warning', 'critical'];
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/**
 * Smallest exponent p (0..6) with v = m / 10^p exactly; [v, 0] when there is none.
 * -0 travels as 0: CBOR integers have no negative zero, and no sensor means anything by it.
 */
export function toDecimal(v: number): [number, number] {
  for (let p = 0; p < POW10.length; p++) {
    const m = Math.round(v * POW10[p]!);
    if (Number.isSafeInteger(m) && m / POW10[p]! === v) return [m, p];
  }
  return [v, 0];
}

export function encodeBatch(batch: Batch): Uint8Array {
  if (batch.readings.length > LIMITS.maxReadingsPerBatch) {
    throw new ProtocolError(
      'too_many',
      'readings',
      `more than ${LIMITS.maxReadingsPerBatch}`,
      batch.readings.length,
    );
  }
  if (batch.events.length > LIMITS.maxEventsPerBatch) {
    throw new ProtocolError(
      'too_many',
      'events',
      `more than ${LIMITS.maxEventsPerBatch}`,
      batch.events.length,
    );
  }
  const devices = new Dictionary();
  const metrics = new Dictionary();
  const units = new Dictionary();
  const seriesIndex = new Map<string, number>();
  const k: number[] = [];
  const n = batch.readings.length;
  const rs = new Array<number>(n);
  const rt = new Array<number>(n);
  const rx = new Array<number | boolean | string>(n);
  const rp = new Array<number>(n);
  const rq: number[] = [];
  const t0 = n > 0 ? batch.readings[0]!.ts : batch.createdAt;
  let prevTs = t0;
  for (let i = 0; i < n; i++) {
    const r = batch.readings[i]!;
    const key = `${r.device}\u0000${r.metric}\u0000${r.unit}`;
    let s = seriesIndex.get(key);
    if (s === undefined) {
      s = seriesIndex.size;
      seriesIndex.set(key, s);
      k.push(devices.index(r.device), metrics.index(r.metric), units.index(r.unit));
    }
    rs[i] = s;
    rt[i] = r.ts - prevTs;
    prevTs = r.ts;
    if (typeof r.value === 'number') {
      const [m, p] = toDecimal(r.value);
      rx[i] = m;
      rp[i] = p;
    } else {
      rx[i] = r.value;
      rp[i] = 0;
    }
    if (r.quality !== 'good') rq.push(i, QUALITY_CODE[r.quality]);
  }
  const ev = batch.events.map((e) => [
    devices.index(e.device),
    e.type,
    SEVERITY_CODE[e.severity],
    e.ts,
    e.data,
  ]);
  const wire: Record<string, unknown> = {
    v: BATCH_FORMAT_VERSION,
    e: batch.edgeId,
    s: batch.seq,
    b: batch.boot,
    c: batch.createdAt,
    h: batch.historical,
    d: devices.names,
    m: metrics.names,
    u: units.names,
    k,
    t0,
    rs,
    rt,
    rx,
    rp,
  };
  if (batch.epoch !== undefined && batch.epoch !== LEGACY_EPOCH) wire.ep = checkEpoch(batch.epoch, 'epoch');
  if (rq.length > 0) wire.rq = rq;
  if (ev.length > 0) wire.ev = ev;
  return encoder.encode(wire);
}

/**
 * Decodes and validates a batch. Bounded: the byte size is checked before parsing, every
 * array length before it is walked, every field's type before it is used. Throws ProtocolError.
 */
export function decodeBatch(bytes: Uint8Array): Batch {
  if (!(bytes instanceof Uint8Array))
    throw new ProtocolError('bad_type', 'batch', 'must be bytes', typeof bytes);
  if (bytes.length > LIMITS.maxBatchBytes) {
    throw new ProtocolError('too_large', 'batch', `larger than ${LIMITS.maxBatchBytes} bytes`, bytes.length);
  }
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw new ProtocolError('not_cbor', 'batch', `not valid CBOR: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new ProtocolError('bad_shape', 'batch', 'must be a CBOR map', raw);
  }
  const w = raw as Record<string, unknown>;
  if (w.v !== BATCH_FORMAT_VERSION)
    throw new ProtocolError('bad_shape', 'v', 'unsupported format version', w.v);
  const edgeId = checkId(w.e, 'e');
  const seq = checkCount(w.s, 's');
  const boot = checkCount(w.b, 'b');
  const createdAt = checkTimestamp(w.c, 'c');
  if (typeof w.h !== 'boolean') throw new ProtocolError('bad_type', 'h', 'must be a boolean', w.h);
  const epoch = w.ep === undefined ? undefined : checkEpoch(w.ep, 'ep');
  const devices = checkNames(w.d, 'd', (x, p) => checkId(x, p));
  const metrics = checkNames(w.m, 'm', (x, p) => checkId(x, p));
  const units = checkNames(w.u, 'u', (x, p) => checkUnit(x, p));
  const k = checkArray(w.k, 'k', LIMITS.maxReadingsPerBatch * 3);
  if (k.length % 3 !== 0)
    throw new ProtocolError('bad_shape', 'k', 'length must be a multiple of 3', k.length);
  const series: { device: string; metric: string; unit: string }[] = [];
  for (let i = 0; i < k.length; i += 3) {
    series.push({
      device: devices[checkIndex(k[i], devices.length, `k[${i}]`)]!,
      metric: metrics[checkIndex(k[i + 1], metrics.length, `k[${i + 1}]`)]!,
      unit: units[checkIndex(k[i + 2], units.length, `k[${i + 2}]`)]!,
    });
  }
  const rs = checkArray(w.rs, 'rs', LIMITS.maxReadingsPerBatch);
  const n = rs.length;
  const rt = checkArray(w.rt, 'rt', n);
  const rx = checkArray(w.rx, 'rx', n);
  const rp = checkArray(w.rp, 'rp', n);
  if (rt.length !== n || rx.length !== n || rp.length !== n) {
    throw new ProtocolError('bad_shape', 'rt/rx/rp', 'columns must have the length of rs', [
      n,
      rt.length,
      rx.length,
      rp.length,
    ]);
  }
  const quality = new Map<number, Quality>();
  if (w.rq !== undefined) {
    const rq = checkArray(w.rq, 'rq', n * 2);
    if (rq.length % 2 !== 0)
      throw new ProtocolError('bad_shape', 'rq', 'must hold index/code pairs', rq.length);
    for (let i = 0; i < rq.length; i += 2) {
      const idx = checkIndex(rq[i], n, `rq[${i}]`);
      const code = checkIndex(rq[i + 1], QUALITY_BY_CODE.length, `rq[${i + 1}]`);
      quality.set(idx, QUALITY_BY_CODE[code]!);
    }
  }
  let ts = n > 0 ? checkTimestamp(w.t0, 't0') : 0;
  const readings = new Array<Reading>(n);
  for (let i = 0; i < n; i++) {
    const s = series[checkIndex(rs[i], series.length, `rs[${i}]`)]!;
    const dt = rt[i];
    if (typeof dt !== 'number' || !Number.isSafeInteger(dt)) {
      throw new ProtocolError('bad_type', `rt[${i}]`, 'must be an integer', dt);
    }
    ts = checkTimestamp(ts + dt, `rt[${i}]`);
    const p = rp[i];
    let value = checkValue(rx[i], `rx[${i}]`);
    if (p !== 0) {
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= POW10.length) {
        throw new ProtocolError('out_of_range', `rp[${i}]`, 'must be an integer 0..6', p);
      }
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new ProtocolError('bad_type', `rx[${i}]`, 'a scaled value must be an integer mantissa', value);
      }
      value = value / POW10[p]!;
    }
    readings[i] = {
      device: s.device,
      metric: s.metric,
      unit: s.unit,
      value,
      ts,
      quality: quality.get(i) ?? 'good',
    };
  }
  const events: DeviceEvent[] = [];
  if (w.ev !== undefined) {
    const ev = checkArray(w.ev, 'ev', LIMITS.maxEventsPerBatch);
    for (let i = 0; i < ev.length; i++) {
      const path = `ev[${i}]`;
      const e = checkArray(ev[i], path, 5);
      if (e.length !== 5) throw new ProtocolError('bad_shape', path, 'must have 5 fields', e.length);
      events.push({
        device: devices[checkIndex(e[0], devices.length, `${path}[0]`)]!,
        type: checkId(e[1], `${path}.type`),
        severity: SEVERITY_BY_CODE[checkIndex(e[2], SEVERITY_BY_CODE.length, `${path}.severity`)]!,
        ts: checkTimestamp(e[3], `${path}.ts`),
        data: checkEventData(e[4], `${path}.data`),
      });
    }
  }
  const batch: Batch = { edgeId, seq, boot, createdAt, historical: w.h, readings, events };
  if (epoch !== undefined) batch.epoch = epoch;
  return batch;
}

/** Validates a batch the edge is about to encode (same rules the cloud applies). */
export function checkBatch(batch: Batch): Batch {
  checkId(batch.edgeId, 'edgeId');
  batch.readings.forEach((r, i) => checkReading(r, `readings[${i}]`));
  batch.events.forEach((e, i) => checkEvent(e, `events[${i}]`));
  return batch;
}

class Dictionary {
  readonly names: string[] = [];
  private readonly map = new Map<string, number>();
  index(name: string): number {
    let i = this.map.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.map.set(name, i);
    }
    return i;
  }
}

function checkArray(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new ProtocolError('bad_type', path, 'must be an array', value);
  if (value.length > max) throw new ProtocolError('too_many', path, `more than ${max} items`, value.length);
  return value;
}

function checkNames(value: unknown, path: string, check: (x: unknown, p: string) => string): string[] {
  const arr = checkArray(value, path, LIMITS.maxDictionaryEntries);
  return arr.map((x, i) => check(x, `${path}[${i}]`));
}

function checkIndex(value: unknown, length: number, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= length) {
    throw new ProtocolError('out_of_range', path, `must be an index below ${length}`, value);
  }
  return value;
}

function checkCount(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError('bad_type', path, 'must be a non-negative integer', value);
  }
  return value;
}
