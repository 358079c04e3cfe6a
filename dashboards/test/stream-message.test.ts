import { describe, expect, it } from 'vitest';
import { parseStreamMessage } from '../src/live-stream.js';

const reading = {
  device: 'a-1',
  metric: 'pm2_5',
  value: 31.5,
  unit: 'µg/m³',
  ts: 1_780_000_000_000,
  quality: 'good',
  station: 's1',
  village: 'v1',
  historical: false,
};

describe('live stream messages are parsed at the boundary', () => {
  it('a reading as the cloud frames it becomes a typed reading message', () => {
    const r = parseStreamMessage('reading', JSON.stringify(reading));
    expect(r).toEqual({ ok: true, message: { type: 'reading', data: reading } });
  });
  it('the SSE event name picks the schema: a reading sent as an incident is refused', () => {
    const r = parseStreamMessage('incident', JSON.stringify(reading));
    expect(r.ok).toBe(false);
  });
  it('a reading without its late flag is refused, naming the field', () => {
    const { historical: _, ...withoutFlag } = reading;
    const r = parseStreamMessage('reading', JSON.stringify(withoutFlag));
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.reason).toMatch(
      /^stream reading answered outside the API contract: data\.historical: /,
    );
  });
  it('an unknown message type is refused', () => {
    expect(parseStreamMessage('gossip', '{}').ok).toBe(false);
  });
  it('data that is not JSON is refused with the start of the text', () => {
    expect(parseStreamMessage('event', '{oops')).toEqual({
      ok: false,
      reason: 'stream event: data is not JSON: {oops',
    });
  });
  it('an incident stored before issue 15 (no text, situation, priority, arrival step) is still an incident', () => {
    const old = {
      id: 'inc-1',
      state: 'open',
      severity: 'critical',
      village: 'v1',
      station: 's1',
      person: 'p-0001',
      title: 'fall',
      openedAt: 1,
      receivedAt: 1,
      eventAt: 1,
      deadline: 180_001,
      level: 'village',
      escalations: [],
      late: false,
      delayMs: 0,
      acknowledgedAt: null,
      acknowledgedBy: null,
      firstResponseMs: null,
      resolvedAt: null,
      resolvedBy: null,
      note: null,
      alerts: [1],
      alertKeys: ['elder.fall:p-0001'],
      people: ['p-0001'],
      devices: ['band-1'],
      audit: [{ at: 1, actor: 'system', action: 'opened' }],
    };
    const r = parseStreamMessage('incident', JSON.stringify(old));
    expect(r.ok && r.message.type === 'incident' && r.message.data.deadline).toBe(180_001);
  });
});
