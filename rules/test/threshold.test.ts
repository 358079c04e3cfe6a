import type { Reading } from '@village/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RulesError,
  type RulesOutput,
  type ThresholdRule,
  compileRules,
  createState,
  step,
} from '../src/index.js';

const T0 = Date.parse('2026-05-01T08:00:00Z');
const S = 1000;

function engine(rule: Partial<ThresholdRule> = {}) {
  const rules = compileRules({
    devices: { aq1: { village: 'v1', station: 's1' }, aq2: { village: 'v2' } },
    thresholds: [
      {
        id: 'pm25-high',
        metric: 'pm25',
        direction: 'above',
        level: 150,
        clearLevel: 115,
        ...rule,
      } as ThresholdRule,
    ],
  });
  const state = createState(rules, T0);
  const outputs: RulesOutput[] = [];
  const feed = (value: number, ts: number, device = 'aq1') => {
    const reading: Reading = { device, metric: 'pm25', value, unit: 'ug/m3', ts, quality: 'good' };
    outputs.push(...step(rules, state, { kind: 'reading', reading }, ts).outputs);
  };
  const count = (type: string) => outputs.filter((o) => o.type === type).length;
  return { rules, state, outputs, feed, count };
}

describe('threshold rules', () => {
  it('a value flapping around the level raises one alert, not one per crossing', () => {
    const e = engine();
    const values = [149, 151, 149.5, 150.5, 140, 160, 120, 151, 116, 152];
    values.forEach((v, i) => e.feed(v, T0 + i * S));
    expect(e.count('alert-raised')).toBe(1);
    expect(e.count('alert-cleared')).toBe(0);
    // Only below the clear level does it clear.
    e.feed(115, T0 + 100 * S);
    expect(e.count('alert-cleared')).toBe(1);
  });
  it('a storm of 1,000 identical triggers is one alert with a count of 1,000', () => {
    const e = engine();
    for (let i = 0; i < 1000; i++) e.feed(300, T0 + i);
    expect(e.count('alert-raised')).toBe(1);
    const alert = e.state.alerts['pm25-high|aq1'];
    expect(alert.count).toBe(1000);
    expect(alert.subject).toEqual({ village: 'v1', station: 's1', device: 'aq1' });
    const last = e.outputs[e.outputs.length - 1];
    expect(last).toMatchObject({ type: 'alert-repeated', key: 'pm25-high|aq1', count: 1000 });
  });
  it('raises only after the value is held beyond the level for holdMs', () => {
    const e = engine({ holdMs: 60 * S });
    e.feed(200, T0);
    e.feed(200, T0 + 30 * S);
    e.feed(140, T0 + 40 * S); // back in the band: the hold restarts
    e.feed(200, T0 + 50 * S);
    e.feed(200, T0 + 109 * S);
    expect(e.count('alert-raised')).toBe(0);
    e.feed(200, T0 + 110 * S);
    expect(e.count('alert-raised')).toBe(1);
    expect(e.outputs.find((o) => o.type === 'alert-raised')).toMatchObject({ alert: { since: T0 + 50 * S } });
  });
  it('clears only after the value stays clear for clearHoldMs', () => {
    const e = engine({ clearHoldMs: 60 * S });
    e.feed(200, T0);
    e.feed(100, T0 + S);
    e.feed(130, T0 + 30 * S); // dead band: clearing restarts
    e.feed(100, T0 + 40 * S);
    e.feed(100, T0 + 99 * S);
    expect(e.count('alert-cleared')).toBe(0);
    e.feed(100, T0 + 100 * S);
    expect(e.count('alert-cleared')).toBe(1);
    expect(e.state.alerts).toEqual({});
  });
  it('below rules mirror above rules', () => {
    const e = engine({ direction: 'below', level: 5, clearLevel: 6, metric: 'pm25' });
    [4.9, 5.5, 4, 5.9, 6].forEach((v, i) => e.feed(v, T0 + i * S));
    expect(e.count('alert-raised')).toBe(1);
    expect(e.count('alert-cleared')).toBe(1);
  });
  it('scopes rules by village and keys alerts by device', () => {
    const e = engine({ village: 'v2' });
    e.feed(300, T0, 'aq1');
    expect(e.count('alert-raised')).toBe(0);
    e.feed(300, T0, 'aq2');
    expect(Object.keys(e.state.alerts)).toEqual(['pm25-high|aq2']);
  });
  it('rejects a clear level on the wrong side, with the config path', () => {
    expect(() => engine({ clearLevel: 160 })).toThrow(RulesError);
    expect(() => engine({ clearLevel: 160 })).toThrow(/thresholds\[0\]\.clearLevel/);
    expect(() => engine({ holdMs: -1 })).toThrow(/holdMs/);
  });
  it('counts wrong value types and unknown devices without touching the rule state', () => {
    const e = engine();
    const bad = {
      device: 'aq1',
      metric: 'pm25',
      value: 'high',
      unit: '',
      ts: T0,
      quality: 'good',
    } as Reading;
    const out = step(e.rules, e.state, { kind: 'reading', reading: bad }, T0).outputs;
    expect(out).toEqual([
      { type: 'input-rejected', reason: 'wrong_value_type', device: 'aq1', metric: 'pm25' },
    ]);
    step(e.rules, e.state, { kind: 'reading', reading: { ...bad, device: 'nope', value: 1 } }, T0);
    step(e.rules, e.state, { kind: 'reading', reading: { ...bad, value: 900, quality: 'bad' } }, T0);
    step(e.rules, e.state, { kind: 'reading', reading: null as unknown as Reading }, T0);
    expect(e.state.rejected).toEqual({
      wrong_value_type: 1,
      unknown_device: 1,
      bad_quality: 1,
      bad_shape: 1,
    });
    expect(e.state.alerts).toEqual({});
  });
  it('property: raises never outnumber clears + 1, and never two raises without a clear between', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }),
        fc.integer({ min: 0, max: 5 }),
        (values, hold) => {
          const e = engine({ holdMs: hold * S, clearHoldMs: hold * S });
          values.forEach((v, i) => e.feed(v, T0 + i * S));
          let active = false;
          for (const o of e.outputs) {
            if (o.type === 'alert-raised') {
              if (active) return false;
              active = true;
            } else if (o.type === 'alert-cleared') {
              if (!active) return false;
              active = false;
            } else if (o.type === 'alert-repeated' && !active) return false;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });
  it('property: values hovering inside the hysteresis band after a raise never re-raise', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 115.01, max: 400, noNaN: true }), { maxLength: 300 }),
        (values) => {
          const e = engine();
          e.feed(151, T0);
          values.forEach((v, i) => e.feed(v, T0 + (i + 1) * S));
          return e.count('alert-raised') === 1 && e.count('alert-cleared') === 0;
        },
      ),
    );
  });
});
