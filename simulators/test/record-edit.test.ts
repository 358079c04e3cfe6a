import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { afterAll, describe, expect, it } from 'vitest';
import { createSlaveImage } from '../src/modbus/slave-image.js';
import {
  RegisterFrameError,
  applySpanBytes,
  readSpanBytes,
  tableSpans,
} from '../src/record/modbus-register-frame.js';
import { editFrames, parseShare } from '../src/record/recording-edit.js';
import { RecordingError, readRecording } from '../src/record/recording-format.js';
import { loadScenario } from '../src/scenario/scenario-load.js';
import { planTraffic } from '../src/scenario/traffic-plan.js';

const SIM = join(import.meta.dirname, '..', 'dist', 'bin', 'village-sim.js');
const SCENARIO = join(import.meta.dirname, '..', 'scenarios', 'demo.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'sim-record-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('recordings', () => {
  it('round-trips through the file format', async () => {
    const plan = planTraffic(loadScenario(SCENARIO));
    const file = join(tmp, 'demo.jsonl');
    execFileSync(process.execPath, [SIM, 'plan', SCENARIO, '--out', file]);
    const back = await readRecording(file);
    expect(back.header).toEqual(plan.header);
    expect(back.frames).toEqual(plan.frames);
  });

  it('refuses bad lines, naming the line and key', async () => {
    const plan = planTraffic(loadScenario(SCENARIO));
    const header = JSON.stringify(plan.header);
    const cases: [string, RegExp][] = [
      ['', /empty: no header/],
      [`${header}\n{"t":1,"proto":"lorawan"`, /:2: not JSON/],
      [
        `${header}\n{"t":"soon","proto":"nbiot","target":"s1/x","bytes":"","meta":{"imei":"860000000000000","format":"cbor"}}`,
        /:2: t: /,
      ],
      [`${header}\n{"t":1,"proto":"smoke-signal","target":"s1/x","bytes":"","meta":{}}`, /:2: proto/],
      [
        `${header}\n{"t":1,"proto":"nbiot","target":"s1/x","bytes":"@@@","meta":{"imei":"860000000000000","format":"cbor"}}`,
        /:2: bytes: must be base64/,
      ],
      ['{"format":"something-else"}', /:1: format/],
    ];
    for (const [text, want] of cases) {
      const f = join(tmp, 'bad.jsonl');
      writeFileSync(f, text);
      await expect(readRecording(f)).rejects.toThrow(RecordingError);
      await expect(readRecording(f)).rejects.toThrow(want);
    }
  });
});

describe('editing a recording', () => {
  const { frames } = planTraffic(loadScenario(SCENARIO));
  const data = frames.filter((f) => f.proto !== 'link');

  it('drops, duplicates, delays and corrupts the share asked, the same way for the same seed', () => {
    const a = editFrames(frames, {
      drop: 0.1,
      duplicate: 0.05,
      delay: 0.05,
      delayMs: 30_000,
      corrupt: 0.05,
      seed: 3,
    });
    const b = editFrames(frames, {
      drop: 0.1,
      duplicate: 0.05,
      delay: 0.05,
      delayMs: 30_000,
      corrupt: 0.05,
      seed: 3,
    });
    expect(a).toEqual(b);
    const c = editFrames(frames, { drop: 0.1, seed: 4 });
    expect(c.frames).not.toEqual(a.frames);
    const share = (n: number) => n / data.length;
    expect(share(a.report.dropped)).toBeGreaterThan(0.07);
    expect(share(a.report.dropped)).toBeLessThan(0.13);
    expect(a.report.duplicated).toBeGreaterThan(0);
    expect(a.report.corrupted).toBeGreaterThan(0);
    expect(a.frames.length).toBe(frames.length - a.report.dropped + a.report.duplicated);
    // Outage markers are never touched.
    expect(a.frames.filter((f) => f.proto === 'link')).toEqual(frames.filter((f) => f.proto === 'link'));
    expect(a.frames.every((f, i) => i === 0 || a.frames[i - 1]!.t <= f.t)).toBe(true);
  });

  it('corrupts by flipping exactly one bit', () => {
    const { frames: out } = editFrames(data, { corrupt: 1, seed: 9 });
    for (let i = 0; i < 50; i++) {
      const x = Buffer.from(data[i]!.bytes, 'base64');
      const y = Buffer.from(out[i]!.bytes, 'base64');
      let bits = 0;
      for (let j = 0; j < x.length; j++)
        bits += [...(x[j]! ^ y[j]!).toString(2)].filter((c) => c === '1').length;
      expect(bits).toBe(1);
    }
  });

  it('parses shares and refuses nonsense', () => {
    expect(parseShare('5%')).toBe(0.05);
    expect(parseShare('0.2')).toBe(0.2);
    expect(() => parseShare('150%')).toThrow(RangeError);
    expect(() => parseShare('lots')).toThrow(/5% or 0.05/);
  });
});

describe('Modbus table frames', () => {
  it('load back into a slave exactly, and a frame of the wrong length changes nothing', () => {
    const profile = loadProfileFile(shippedProfilePath('water-probe'));
    const a = createSlaveImage(profile);
    for (const p of profile.points) if (!p.writable) a.set(p.name, p.type === 'bit' ? true : 7);
    const b = createSlaveImage(profile);
    for (const span of tableSpans(profile))
      applySpanBytes(b, span.table, span.address, readSpanBytes(a, span));
    for (const span of tableSpans(profile)) expect(readSpanBytes(b, span)).toEqual(readSpanBytes(a, span));
    const span = tableSpans(profile).find((s) => s.table === 'input')!;
    const before = readSpanBytes(b, span);
    expect(() => applySpanBytes(b, span.table, span.address, Buffer.alloc(3))).toThrow(RegisterFrameError);
    expect(() => applySpanBytes(b, span.table, span.address, Buffer.alloc(0))).toThrow(/do not cover/);
    expect(readSpanBytes(b, span)).toEqual(before);
  });
});
