import type { ProfilePoint, Table } from './profile-schema.js';
import { isBitTable } from './profile-schema.js';
import { wordCount } from './register-codec.js';

/** One read request: a contiguous span of one table, and the points it serves. */
export interface ReadRequest {
  table: Table;
  /** First address read. */
  start: number;
  /** Registers (or bits) read. */
  count: number;
  points: ProfilePoint[];
}

export interface PlanLimits {
  /** Unused registers (or bits) one request may span between two points to serve both. */
  maxGap: number;
  /** Largest register read (FC 03/04), registers. */
  maxRegisters: number;
  /** Largest bit read (FC 01/02), bits. */
  maxBits: number;
  /** false reads every point on its own (devices that refuse multi-point reads); default true. */
  coalesce?: boolean;
}

/**
 * Coalesces points into as few reads as the limits allow. Tables are never merged (each has its
 * own function code); within a table, points are taken in address order and a point joins the
 * current read when the hole before it is at most `maxGap` and the read stays within the size
 * limit. Greedy is optimal here: with sorted points, extending the current read whenever allowed
 * never costs a later merge.
 */
export function planReads(points: readonly ProfilePoint[], limits: PlanLimits): ReadRequest[] {
  const byTable = new Map<Table, ProfilePoint[]>();
  for (const p of points) {
    const list = byTable.get(p.table) ?? [];
    list.push(p);
    byTable.set(p.table, list);
  }
  const requests: ReadRequest[] = [];
  for (const [table, list] of byTable) {
    const max = isBitTable(table) ? limits.maxBits : limits.maxRegisters;
    const sorted = [...list].sort((a, b) => a.address - b.address);
    let current: ReadRequest | undefined;
    for (const p of sorted) {
      const end = p.address + wordCount(p.type);
      if (end - p.address > max) throw new RangeError(`point ${p.name} is larger than ${max} per request`);
      if (current !== undefined && limits.coalesce !== false) {
        const currentEnd = current.start + current.count;
        const gap = p.address - currentEnd;
        if (gap <= limits.maxGap && Math.max(end, currentEnd) - current.start <= max) {
          current.count = Math.max(end, currentEnd) - current.start;
          current.points.push(p);
          continue;
        }
      }
      current = { table, start: p.address, count: end - p.address, points: [p] };
      requests.push(current);
    }
  }
  return requests;
}
