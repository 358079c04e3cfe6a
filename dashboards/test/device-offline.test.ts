import { describe, expect, it } from 'vitest';
import { DEVICE_SILENT_MS, deviceOffline } from '../src/device-offline.js';

const NOW = Date.parse('2026-06-01T08:00:00+08:00');
const edges = [
  { id: 'e-up', online: true },
  { id: 'e-down', online: false },
];

describe('device offline', () => {
  it('a device heard from within ten minutes behind an online edge is online', () => {
    expect(deviceOffline(edges, { edge: 'e-up', lastSeen: NOW - DEVICE_SILENT_MS }, NOW)).toBe(false);
  });
  it('silent for longer than ten minutes is offline', () => {
    expect(deviceOffline(edges, { edge: 'e-up', lastSeen: NOW - DEVICE_SILENT_MS - 1 }, NOW)).toBe(true);
  });
  it('never heard from is offline', () => {
    expect(deviceOffline(edges, { edge: 'e-up', lastSeen: null }, NOW)).toBe(true);
  });
  it('behind an offline edge it is offline however recent its last reading', () => {
    expect(deviceOffline(edges, { edge: 'e-down', lastSeen: NOW }, NOW)).toBe(true);
  });
  it('a device of an edge the officer cannot see is judged by its own silence', () => {
    expect(deviceOffline(edges, { edge: 'e-elsewhere', lastSeen: NOW - 1000 }, NOW)).toBe(false);
    expect(deviceOffline(edges, { edge: null, lastSeen: NOW - DEVICE_SILENT_MS - 1 }, NOW)).toBe(true);
  });
});
