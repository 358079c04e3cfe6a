import {
  type Profile,
  TABLES,
  type Table,
  decodeRaw,
  isBitTable,
  toPhysical,
  wordCount,
} from '@village/device-drivers/modbus';
import type { SlaveImage } from '../modbus/slave-image.js';

/**
 * Modbus is poll-based, so what a Modbus device "sends" is the content of its tables: a frame
 * holds one table's mapped span as the master would read it (registers as big-endian 16-bit
 * words, bits as one byte 0/1 each). Replaying a frame loads it into the simulated slave, which
 * then answers the edge's polls from it until the next frame for that unit.
 */
export interface TableSpan {
  table: Table;
  address: number;
  count: number;
}

/** The span of each table a profile maps, in a fixed table order. */
export function tableSpans(profile: Profile): TableSpan[] {
  const spans = new Map<Table, { start: number; end: number }>();
  for (const p of profile.points) {
    const end = p.address + wordCount(p.type);
    const s = spans.get(p.table);
    spans.set(
      p.table,
      s ? { start: Math.min(s.start, p.address), end: Math.max(s.end, end) } : { start: p.address, end },
    );
  }
  return TABLES.filter((t) => spans.has(t)).map((t) => ({
    table: t,
    address: spans.get(t)!.start,
    count: spans.get(t)!.end - spans.get(t)!.start,
  }));
}

/** The bytes of one table span of an image. */
export function readSpanBytes(image: SlaveImage, span: TableSpan): Buffer {
  const values = image.read(span.table, span.address, span.count)!;
  if (isBitTable(span.table)) return Buffer.from((values as boolean[]).map((b) => (b ? 1 : 0)));
  const out = Buffer.alloc(values.length * 2);
  (values as number[]).forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** A frame whose bytes do not fit the span the profile maps. */
export class RegisterFrameError extends Error {
  override readonly name = 'RegisterFrameError';
}

/**
 * Loads a table frame into a slave image, point by point (input registers and discrete inputs
 * are read-only to a master, so they are set through the profile). A frame of the wrong length
 * is refused whole, so a corrupted recording never leaves half a table written.
 */
export function applySpanBytes(image: SlaveImage, table: Table, address: number, bytes: Buffer): void {
  const points = image.profile.points.filter((p) => p.table === table && !p.writable);
  const bits = isBitTable(table);
  const width = bits ? 1 : 2;
  if (bytes.length % width !== 0)
    throw new RegisterFrameError(`${table}@${address}: odd byte count ${bytes.length}`);
  const count = bytes.length / width;
  const values: { name: string; value: number | boolean }[] = [];
  for (const p of points) {
    const off = p.address - address;
    const n = wordCount(p.type);
    if (off < 0 || off + n > count)
      throw new RegisterFrameError(`${table}@${address}: ${count} entries do not cover point ${p.name}`);
    if (bits || p.type === 'bit') values.push({ name: p.name, value: bytes[off] !== 0 });
    else {
      const words = Array.from({ length: n }, (_, i) => bytes.readUInt16BE((off + i) * 2));
      values.push({
        name: p.name,
        value: toPhysical(decodeRaw(words, p.type, p.order), p.type, p.scale, p.offset),
      });
    }
  }
  for (const v of values) image.set(v.name, v.value);
}
