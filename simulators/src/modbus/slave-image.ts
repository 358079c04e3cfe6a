import {
  type Profile,
  type ProfilePoint,
  type Table,
  decodeRaw,
  encodeRaw,
  isBitTable,
  toPhysical,
  toRaw,
  wordCount,
} from '@village/device-drivers/modbus';

/**
 * The data a simulated slave holds: its four tables, laid out by its profile. A read inside the
 * span a profile maps for a table succeeds (unused addresses read 0, as on most real devices);
 * a read outside it gets exception 02, ILLEGAL DATA ADDRESS.
 */
export interface SlaveImage {
  readonly profile: Profile;
  /** Sets a point to a physical value, encoded as the profile says (scale, offset, type, order). */
  set(point: string, value: number | boolean): void;
  /** A point's current physical value, decoded back from the tables. */
  get(point: string): number | boolean;
  /** Raw words or bits of a span; undefined when the span leaves the mapped range. */
  read(table: Table, start: number, count: number): number[] | boolean[] | undefined;
  /** Writes words or bits; false when the span leaves the mapped range of a writable table. */
  write(table: 'coil' | 'holding', start: number, values: number[] | boolean[]): boolean;
}

export function createSlaveImage(profile: Profile): SlaveImage {
  const words = new Map<Table, Map<number, number>>();
  const bits = new Map<Table, Map<number, boolean>>();
  const span = new Map<Table, { start: number; end: number }>();
  for (const p of profile.points) {
    const end = p.address + wordCount(p.type);
    const s = span.get(p.table);
    span.set(
      p.table,
      s ? { start: Math.min(s.start, p.address), end: Math.max(s.end, end) } : { start: p.address, end },
    );
  }
  const pointByName = new Map(profile.points.map((p) => [p.name, p]));
  const point = (name: string): ProfilePoint => {
    const p = pointByName.get(name);
    if (!p) throw new RangeError(`profile ${profile.name} has no point ${name}`);
    return p;
  };
  const inSpan = (table: Table, start: number, count: number) => {
    const s = span.get(table);
    return s !== undefined && start >= s.start && start + count <= s.end;
  };
  const table = <T>(m: Map<Table, Map<number, T>>, t: Table) => {
    let x = m.get(t);
    if (!x) {
      x = new Map();
      m.set(t, x);
    }
    return x;
  };

  return {
    profile,
    set(name, value) {
      const p = point(name);
      if (p.type === 'bit') {
        table(bits, p.table).set(p.address, Boolean(value));
        return;
      }
      if (typeof value !== 'number') throw new TypeError(`point ${name} takes a number, got ${typeof value}`);
      const w = encodeRaw(toRaw(value, p.type, p.scale, p.offset), p.type, p.order);
      w.forEach((x, i) => table(words, p.table).set(p.address + i, x));
    },
    get(name) {
      const p = point(name);
      if (p.type === 'bit') return table(bits, p.table).get(p.address) ?? false;
      return readPoint(p, (a) => table(words, p.table).get(a) ?? 0);
    },
    read(t, start, count) {
      if (!inSpan(t, start, count)) return undefined;
      if (isBitTable(t))
        return Array.from({ length: count }, (_, i) => table(bits, t).get(start + i) ?? false);
      return Array.from({ length: count }, (_, i) => table(words, t).get(start + i) ?? 0);
    },
    write(t, start, values) {
      if (!inSpan(t, start, values.length)) return false;
      values.forEach((v, i) => {
        if (typeof v === 'boolean') table(bits, t).set(start + i, v);
        else table(words, t).set(start + i, v & 0xffff);
      });
      return true;
    },
  };
}

function readPoint(p: ProfilePoint, word: (address: number) => number): number {
  if (p.type === 'bit') throw new TypeError('bit points are read from the bit tables');
  const ws = Array.from({ length: wordCount(p.type) }, (_, i) => word(p.address + i));
  return toPhysical(decodeRaw(ws, p.type, p.order), p.type, p.scale, p.offset);
}
