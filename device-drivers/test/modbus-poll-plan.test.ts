import { describe, expect, it } from 'vitest';
import { planReads } from '../src/modbus/poll-plan.js';
import type { ProfilePoint } from '../src/modbus/profile-schema.js';

const point = (
  name: string,
  table: ProfilePoint['table'],
  address: number,
  type: ProfilePoint['type'],
): ProfilePoint => ({
  name,
  table,
  address,
  type,
  order: 'ABCD',
  scale: 1,
  offset: 0,
  unit: '',
  writable: false,
});
const spans = (plan: ReturnType<typeof planReads>) =>
  plan.map((r) => [r.table, r.start, r.count, r.points.map((p) => p.name)]);

describe('poll planner', () => {
  const limits = { maxGap: 0, maxRegisters: 125, maxBits: 2000 };

  it('merges adjacent points of one table into one read', () => {
    const plan = planReads(
      [point('b', 'holding', 1, 'u16'), point('a', 'holding', 0, 'u16'), point('c', 'holding', 2, 'f32')],
      limits,
    );
    expect(spans(plan)).toEqual([['holding', 0, 4, ['a', 'b', 'c']]]);
  });

  it('spans a hole only up to the allowed gap', () => {
    const points = [point('a', 'input', 0, 'u16'), point('b', 'input', 4, 'u16')];
    expect(spans(planReads(points, { ...limits, maxGap: 2 }))).toEqual([
      ['input', 0, 1, ['a']],
      ['input', 4, 1, ['b']],
    ]);
    expect(spans(planReads(points, { ...limits, maxGap: 3 }))).toEqual([['input', 0, 5, ['a', 'b']]]);
  });

  it('splits at the maximum registers per request, never splitting a point', () => {
    const points = [
      point('a', 'holding', 0, 'f64'),
      point('b', 'holding', 4, 'f64'),
      point('c', 'holding', 8, 'u32'),
    ];
    expect(spans(planReads(points, { ...limits, maxRegisters: 9 }))).toEqual([
      ['holding', 0, 8, ['a', 'b']],
      ['holding', 8, 2, ['c']],
    ]);
    expect(spans(planReads(points, { ...limits, maxRegisters: 4 }))).toHaveLength(3);
    expect(() => planReads(points, { ...limits, maxRegisters: 3 })).toThrow(/larger than 3/);
  });

  it('never merges different tables, even at the same addresses', () => {
    const plan = planReads(
      [
        point('h', 'holding', 0, 'u16'),
        point('i', 'input', 1, 'u16'),
        point('c', 'coil', 0, 'bit'),
        point('d', 'discrete-input', 1, 'bit'),
      ],
      { ...limits, maxGap: 100 },
    );
    expect(spans(plan).sort()).toEqual(
      [
        ['coil', 0, 1, ['c']],
        ['discrete-input', 1, 1, ['d']],
        ['holding', 0, 1, ['h']],
        ['input', 1, 1, ['i']],
      ].sort(),
    );
  });

  it('reads every point on its own when coalescing is off', () => {
    const points = [point('a', 'holding', 0, 'u16'), point('b', 'holding', 1, 'u32')];
    expect(spans(planReads(points, { ...limits, coalesce: false }))).toEqual([
      ['holding', 0, 1, ['a']],
      ['holding', 1, 2, ['b']],
    ]);
  });

  it('limits bit reads by maxBits', () => {
    const coils = Array.from({ length: 10 }, (_, i) => point(`c${i}`, 'coil', i, 'bit'));
    expect(planReads(coils, { ...limits, maxBits: 4 }).map((r) => r.count)).toEqual([4, 4, 2]);
  });
});
