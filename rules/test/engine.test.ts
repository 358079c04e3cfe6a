import type { Reading } from '@village/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EngineState,
  HOUR_MS,
  RulesError,
  type RulesInput,
  type RulesOutput,
  compileRules,
  createState,
  nextDeadline,
  restoreState,
  serializeState,
  seriesMeans,
  step,
  tick,
} from '../src/index.js';
import { PEOPLE } from './people-fixture.js';

const T0 = Date.parse('2026-05-01T08:00:00+08:00');
const rules = compileRules({
  people: PEOPLE,
  devices: { aq1: { village: 'v1' }, smoke1: { village: 'v2' } },
  thresholds: [
    { id: 'pm25', metric: 'pm25', direction: 'above', level: 150, clearLevel: 115, holdMs: 120_000 },
  ],
  means: { metrics: ['pm25'] },
  elderCare: { vitalsHoldMs: 120_000, noMovementMs: 1_800_000 },
});

function reading(device: string, metric: string, value: number | boolean, ts: number): RulesInput {
  const r: Reading = { device, metric, value, unit: '', ts, quality: 'good' };
  return { kind: 'reading', reading: r };
}

/** Runs inputs like a runtime does: tick whenever the next deadline has passed, then step. */
function run(
  state: EngineState,
  inputs: [RulesInput, number][],
): { state: EngineState; outputs: RulesOutput[] } {
  const outputs: RulesOutput[] = [];
  for (const [input, now] of inputs) {
    const due = nextDeadline(rules, state, now);
    if (due !== null && due <= now) outputs.push(...tick(rules, state, now).outputs);
    outputs.push(...step(rules, state, input, now).outputs);
  }
  return { state, outputs };
}

describe('engine', () => {
  it('keeps 1 h / 8 h / 24 h means of configured metrics per device', () => {
    const state = createState(rules, T0);
    for (let m = 0; m < 60; m++)
      step(rules, state, reading('aq1', 'pm25', m < 30 ? 10 : 20, T0 + m * 60_000), T0);
    const means = seriesMeans(rules, state, 'aq1', 'pm25', T0 + HOUR_MS);
    expect(means?.['1h']).toMatchObject({ valid: true, value: 15, samples: 60 });
    expect(means?.['8h'].valid).toBe(false);
    expect(seriesMeans(rules, state, 'aq1', 'pm10', T0)).toBeNull();
  });

  it('rejects invalid config with a typed error naming the path', () => {
    expect(() => compileRules({ people: [PEOPLE[0], PEOPLE[0]] })).toThrow(/people\[1\]\.id/);
    expect(() =>
      compileRules({ people: [{ ...PEOPLE[0], waking: { from: '25:00', to: '21:00' } }] }),
    ).toThrow(RulesError);
    expect(() => compileRules({ incidents: { levels: [] } })).toThrow(/incidents.levels/);
    expect(() => compileRules({ devices: { x: { village: '' } } })).toThrow(/devices.x.village/);
  });

  it('property: pausing at any point (serialize, restore) changes no output', () => {
    const device = fc.constantFrom('wb1', 'wb2', 'wb3', 'aq1');
    const input = fc.tuple(
      device,
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 0, max: 600 }),
      fc.nat(20),
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 80 }), fc.nat(80), (raw, cut) => {
        let t = T0;
        const inputs: [RulesInput, number][] = raw.map(([dev, v, dt, kind]) => {
          t += dt * 1000;
          if (dev === 'aq1') return [reading(dev, 'pm25', v, t), t];
          if (kind === 0)
            return [
              { kind: 'event', event: { device: dev, type: 'fall', severity: 'critical', ts: t, data: {} } },
              t,
            ];
          const metric = ['heart_rate', 'spo2', 'steps', 'battery'][kind % 4];
          return [reading(dev, metric, v, t), t];
        });
        const whole = run(createState(rules, T0), inputs).outputs;
        const k = Math.min(cut, inputs.length);
        const first = run(createState(rules, T0), inputs.slice(0, k));
        const resumed = run(restoreState(serializeState(first.state)), inputs.slice(k));
        expect([...first.outputs, ...resumed.outputs]).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
});
