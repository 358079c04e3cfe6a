import { describe, expect, it } from 'vitest';
import {
  RulesError,
  type WaterParameter,
  parameterClass,
  waterClass,
  waterPeriodClass,
} from '../src/index.js';

// GB 3838-2002 table 1 limits for classes I..V, written out independently of the source.
const UPPER: Record<string, number[]> = {
  CODMn: [2, 4, 6, 10, 15],
  COD: [15, 15, 20, 30, 40],
  BOD5: [3, 3, 4, 6, 10],
  'NH3-N': [0.15, 0.5, 1.0, 1.5, 2.0],
};
const TP_RIVER = [0.02, 0.1, 0.2, 0.3, 0.4];
const TP_LAKE = [0.01, 0.025, 0.05, 0.1, 0.2];
const TN_LAKE = [0.2, 0.5, 1.0, 1.5, 2.0];
const DO_MIN = [7.5, 6, 5, 3, 2];

/** The class a value exactly at limit i belongs to: the best class whose limit it meets. */
function bestClassAt(limits: number[], i: number): number {
  return limits.indexOf(limits[i]) + 1;
}

describe('GB 3838-2002 single parameters at every limit', () => {
  for (const [p, limits] of Object.entries(UPPER)) {
    it(`${p}: equal to a limit is that class, just above is the next`, () => {
      limits.forEach((limit, i) => {
        expect(parameterClass(p as WaterParameter, limit), `${p} = ${limit}`).toBe(bestClassAt(limits, i));
        const above = limit + 0.001;
        const next = limits.findIndex((l) => above <= l);
        expect(parameterClass(p as WaterParameter, above), `${p} = ${above}`).toBe(
          next === -1 ? 6 : next + 1,
        );
      });
      expect(parameterClass(p as WaterParameter, 0)).toBe(1);
    });
  }
  it('TP: river and lake limits', () => {
    TP_RIVER.forEach((l, i) => expect(parameterClass('TP', l, 'river')).toBe(i + 1));
    TP_LAKE.forEach((l, i) => expect(parameterClass('TP', l, 'lake')).toBe(i + 1));
    expect(parameterClass('TP', 0.401, 'river')).toBe(6);
    expect(parameterClass('TP', 0.201, 'lake')).toBe(6);
    expect(parameterClass('TP', 0.021, 'river')).toBe(2);
  });
  it('TN: lake limits', () => {
    TN_LAKE.forEach((l, i) => expect(parameterClass('TN', l, 'lake')).toBe(i + 1));
    expect(parameterClass('TN', 2.01, 'lake')).toBe(6);
  });
  it('DO: higher is better; equal to a limit is that class', () => {
    DO_MIN.forEach((l, i) => {
      expect(parameterClass('DO', l), `DO = ${l}`).toBe(i + 1);
      expect(parameterClass('DO', l - 0.01), `DO = ${l - 0.01}`).toBe(i + 2);
    });
    expect(parameterClass('DO', 12)).toBe(1);
    expect(parameterClass('DO', 1.99)).toBe(6);
  });
  it('pH: 6–9 meets every class, outside is worse than V', () => {
    expect(parameterClass('pH', 6)).toBe(1);
    expect(parameterClass('pH', 9)).toBe(1);
    expect(parameterClass('pH', 5.99)).toBe(6);
    expect(parameterClass('pH', 9.01)).toBe(6);
  });
  it('rejects impossible values with a typed error', () => {
    expect(() => parameterClass('COD', -1)).toThrow(RulesError);
    expect(() => parameterClass('pH', 15)).toThrow(/pH/);
    expect(() => parameterClass('DO', Number.NaN)).toThrow(RulesError);
  });
});

describe('overall class', () => {
  it('is the worst parameter, and names it', () => {
    const r = waterClass({ pH: 7.2, DO: 6.5, CODMn: 3, 'NH3-N': 1.2, TP: 0.1 });
    expect(r.class).toBe(4);
    expect(r.className).toBe('IV');
    expect(r.decidedBy).toEqual(['NH3-N']);
  });
  it('names every parameter that ties for worst, and 劣V', () => {
    const r = waterClass({ DO: 1.5, COD: 41, BOD5: 3 });
    expect(r.class).toBe(6);
    expect(r.className).toBe('劣V');
    expect(r.decidedBy).toEqual(['DO', 'COD']);
  });
  it('TN is not used for rivers; for lakes and reservoirs it is classed apart and does not decide', () => {
    const river = waterClass({ TN: 3, CODMn: 2 }, 'river');
    expect(river.class).toBe(1);
    expect(river.notApplicable).toEqual(['TN']);
    expect(river.tn).toBeNull();
    for (const body of ['lake', 'reservoir'] as const) {
      const lake = waterClass({ TN: 3, CODMn: 2 }, body);
      expect(lake.class, body).toBe(1);
      expect(lake.decidedBy).toEqual(['CODMn']);
      expect(lake.tn).toEqual({ parameter: 'TN', value: 3, class: 6 });
      expect(lake.parameters.map((p) => p.parameter)).toEqual(['CODMn']);
    }
  });
  it('no parameters gives no class', () => {
    expect(waterClass({}).class).toBeNull();
  });
});

describe('river vs lake at the TP and TN limits (GB 3838-2002, 环办〔2011〕22号)', () => {
  // [TP, river class, lake/reservoir class]: at each limit and just above it.
  const TP_CASES: [number, number, number][] = [
    [0.01, 1, 1],
    [0.011, 1, 2],
    [0.02, 1, 2],
    [0.025, 2, 2],
    [0.026, 2, 3],
    [0.05, 2, 3],
    [0.051, 2, 4],
    [0.1, 2, 4],
    [0.101, 3, 5],
    [0.15, 3, 5], // the demo pond: III as a river, V as a lake
    [0.2, 3, 5],
    [0.201, 4, 6],
    [0.3, 4, 6],
    [0.301, 5, 6],
    [0.4, 5, 6],
    [0.401, 6, 6],
  ];
  for (const [tp, river, lake] of TP_CASES) {
    it(`TP ${tp}: river ${river}, lake ${lake}, reservoir ${lake}`, () => {
      expect(waterClass({ TP: tp }, 'river').class).toBe(river);
      expect(waterClass({ TP: tp }, 'lake').class).toBe(lake);
      expect(waterClass({ TP: tp }, 'reservoir').class).toBe(lake);
    });
  }
  const TN_CASES: [number, number][] = [
    [0.2, 1],
    [0.21, 2],
    [0.5, 2],
    [0.51, 3],
    [1.0, 3],
    [1.01, 4],
    [1.5, 4],
    [1.51, 5],
    [2.0, 5],
    [2.01, 6],
  ];
  for (const [tn, cls] of TN_CASES) {
    it(`TN ${tn}: class ${cls} reported apart for a lake, never in the overall class`, () => {
      const lake = waterClass({ TN: tn, DO: 8 }, 'lake');
      expect(lake.tn?.class).toBe(cls);
      expect(lake.class).toBe(1);
      expect(waterClass({ TN: tn, DO: 8 }, 'river').tn).toBeNull();
    });
  }
  it('the class is labelled with the parameters it used, and as partial', () => {
    const r = waterClass({ pH: 7.4, DO: 6.2, 'NH3-N': 0.4, TP: 0.15, TN: 1.2 }, 'lake');
    expect(r.class).toBe(5);
    expect(r.partial).toBe(true);
    expect(r.label).toBe('V (TP; by pH, DO, NH3-N, TP; partial, 4 of 21 items)');
  });
  it('a value that cannot be classed is rejected, the others still decide', () => {
    const r = waterClass({ COD: -1, TP: 0.15 }, 'river');
    expect(r.class).toBe(3);
    expect(r.rejected).toMatchObject([{ parameter: 'COD', value: -1 }]);
    expect(r.rejected[0]?.reason).toMatch(/COD.*negative/);
    expect(() => waterClass({ TP: 0.1 }, 'sea' as never)).toThrow(/river, lake or reservoir/);
  });
});

describe('period class from arithmetic means', () => {
  const H = 3_600_000;
  const FROM = Date.parse('2026-06-01T00:00:00+08:00');
  const TO = Date.parse('2026-07-01T00:00:00+08:00');
  it('classes the mean of each parameter over [from, to), not the worst sample', () => {
    const obs = [
      { ts: FROM, sample: { TP: 0.04, DO: 7 } },
      { ts: FROM + H, sample: { TP: 0.12, DO: 5 } }, // alone this is IV for a lake
      { ts: FROM + 2 * H, sample: { TP: 0.05 } },
      { ts: TO, sample: { TP: 0.9 } }, // the next month: not counted
      { ts: FROM - 1, sample: { TP: 0.9 } },
    ];
    const r = waterPeriodClass(obs, 'lake', { from: FROM, to: TO });
    expect(r.means.TP).toBeCloseTo(0.07, 10); // (0.04 + 0.12 + 0.05) / 3
    expect(r.counts).toEqual({ TP: 3, DO: 2 });
    expect(r.class).toBe(4); // lake TP 0.07: above 0.05 (III), within 0.1 (IV)
    expect(r.decidedBy).toEqual(['TP']);
    expect(waterPeriodClass(obs, 'river', { from: FROM, to: TO }).class).toBe(2); // river TP 0.07 ≤ 0.1; DO 6 ≥ 6
  });
  it('leaves out impossible values and counts them; refuses an empty period', () => {
    const r = waterPeriodClass(
      [
        { ts: FROM, sample: { TP: -0.1 } },
        { ts: FROM, sample: { TP: 0.02 } },
      ],
      'river',
      { from: FROM, to: TO },
    );
    expect(r.skipped).toBe(1);
    expect(r.means.TP).toBe(0.02);
    expect(() => waterPeriodClass([], 'river', { from: TO, to: FROM })).toThrow(/period/);
  });
});
