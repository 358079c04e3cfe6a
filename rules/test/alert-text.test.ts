import type { DeviceEvent, Reading } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import { type RulesOutput, compileRules, createState, renderAlertText, step, tick } from '../src/index.js';
import { person } from './people-fixture.js';

/** Issue 15: "pm2_5 212 above 150", "fall detected for p-zhang-wei", "silent for 570000 ms". */
const T = Date.parse('2026-05-01T10:00:00+08:00');
const rules = compileRules({
  people: [person('p-0001', 'v1', 'band-1', { station: 's1', livesAlone: false, reportIntervalMs: 60_000 })],
  devices: { 'aq-1': { village: 'v1', station: 's1' } },
  thresholds: [
    { id: 'pm25-1h', metric: 'pm2_5', direction: 'above', level: 150, severity: 'critical', averaging: '1h' },
  ],
});
const raisedOf = (outs: RulesOutput[]) => outs.flatMap((o) => (o.type === 'alert-raised' ? [o.alert] : []));
const names: Record<string, string> = { 'p-0001': '张*' };

describe('alert texts from structured fields', () => {
  it('an environmental alert carries metric, value, unit, averaging period and threshold', () => {
    const state = createState(rules, T);
    const reading: Reading = {
      device: 'aq-1',
      metric: 'pm2_5',
      value: 212,
      unit: 'µg/m³',
      ts: T,
      quality: 'good',
    };
    const [alert] = raisedOf(step(rules, state, { kind: 'reading', reading }, T).outputs);
    expect(alert.text).toEqual({
      kind: 'threshold',
      device: 'aq-1',
      station: 's1',
      metric: 'pm2_5',
      value: 212,
      unit: 'µg/m³',
      averaging: '1h',
      threshold: 150,
      direction: 'above',
    });
    expect(renderAlertText(alert.text!, 'zh')).toBe('PM2.5（1小时均值）212µg/m³，超过限值 150µg/m³');
    expect(renderAlertText(alert.text!, 'en')).toBe(
      'PM2.5 (1-hour mean) 212 µg/m³, above the limit of 150 µg/m³',
    );
  });

  it('a fall names the person by the display name the reader may see, never by id', () => {
    const state = createState(rules, T);
    const fall: DeviceEvent = { device: 'band-1', type: 'fall', severity: 'critical', ts: T, data: {} };
    const [alert] = raisedOf(step(rules, state, { kind: 'event', event: fall }, T).outputs);
    expect(alert.text).toMatchObject({ kind: 'fall', person: 'p-0001' });
    expect(renderAlertText(alert.text!, 'zh', (id) => names[id]!)).toBe('张* 跌倒');
    expect(renderAlertText(alert.text!, 'en', (id) => names[id]!)).toBe('张* fell');
  });

  it('a silence says minutes, not milliseconds', () => {
    const state = createState(rules, T);
    const [alert] = raisedOf(tick(rules, state, T + 570_000).outputs);
    expect(alert.text).toMatchObject({ kind: 'device_silent', durationMs: 570_000 });
    expect(renderAlertText(alert.text!, 'zh', (id) => names[id]!)).toBe('张* 的手环已10分钟无数据');
    expect(renderAlertText(alert.text!, 'en', (id) => names[id]!)).toBe('张*: wristband silent for 10 min');
    expect(
      renderAlertText(
        { kind: 'no_movement', person: 'p-0001', durationMs: 3 * 3_600_000 + 5 * 60_000 },
        'zh',
        (id) => names[id]!,
      ),
    ).toBe('张* 清醒时段已3小时5分钟未活动，请电话确认');
  });
});
