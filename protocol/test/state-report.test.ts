import { describe, expect, it } from 'vitest';
import { ProtocolError, type Status, decodeStatus, encodeJson } from '../src/index.js';

const report: Status = {
  state: 'report',
  edgeId: 'edge-1',
  boot: 3,
  ts: Date.UTC(2026, 0, 1),
  version: '0.1.0',
  report: {
    outbox: {
      pendingReadings: 10,
      pendingEvents: 0,
      oldestUnsentAgeS: 12.5,
      bytesUsed: 4096,
      droppedReadings: 0,
      diskFull: false,
    },
    drivers: [{ id: 'fake', kind: 'fake', running: true, restarts: 1 }],
    diskFreeBytes: 1e9,
    diskTotalBytes: 4e9,
    clockOffsetS: -0.2,
  },
};

const codeAndPath = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof ProtocolError) return `${err.code} ${err.path}`;
    throw err;
  }
  return 'no error';
};

// Issue 17: the state report is a third kind of status message; bad ones name the field.
describe('Status report', () => {
  it('round-trips, with nulls for an empty outbox and an unknown disk', () => {
    expect(decodeStatus(encodeJson(report))).toEqual(report);
    const empty = structuredClone(report) as Extract<Status, { state: 'report' }>;
    empty.report.outbox.oldestUnsentAgeS = null;
    empty.report.diskFreeBytes = null;
    empty.report.diskTotalBytes = null;
    expect(decodeStatus(encodeJson(empty))).toEqual(empty);
  });

  it('refuses a bad report naming the field', () => {
    /** The report with the value at `path` set to `value` (undefined = removed). */
    const bad = (path: string[], value: unknown) => {
      const r = structuredClone(report) as unknown as Record<string, unknown>;
      let at = r;
      for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
      if (value === undefined) delete at[path.at(-1)!];
      else at[path.at(-1)!] = value;
      return codeAndPath(() => decodeStatus(encodeJson(r as unknown as Status)));
    };
    expect(bad(['report'], undefined)).toBe('bad_shape status.report');
    expect(bad(['report', 'outbox', 'pendingReadings'], -1)).toBe(
      'bad_type status.report.outbox.pendingReadings',
    );
    expect(bad(['report', 'outbox', 'oldestUnsentAgeS'], 'old')).toBe(
      'bad_type status.report.outbox.oldestUnsentAgeS',
    );
    expect(bad(['report', 'drivers'], [{ id: 'x' }])).toBe('bad_shape status.report.drivers[0]');
    expect(bad(['report', 'diskFreeBytes'], 'lots')).toBe('bad_type status.report.diskFreeBytes');
    expect(bad(['state'], 'sleeping')).toBe('bad_shape status.state');
  });
});
