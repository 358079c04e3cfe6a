import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { afterAll, describe, expect, it } from 'vitest';
import { NBIOT_SIM_CODECS } from '../src/nbiot/nbiot-device.js';
import { ScenarioError, loadScenario, parseScenario } from '../src/scenario/scenario-load.js';
import { planTraffic } from '../src/scenario/traffic-plan.js';

const SIM = join(import.meta.dirname, '..', 'dist', 'bin', 'village-sim.js');
const DEMO = join(import.meta.dirname, '..', 'scenarios', 'demo.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'sim-scenario-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('scenario files', () => {
  it('names the key of a bad value', () => {
    const base = {
      name: 'x',
      stations: [{ id: 's1', edge: 'e1', modbus: [{ id: 'm', unitId: 1, profile: 'pm25-sensor' }] }],
    };
    expect(() => parseScenario({ ...base, duration: 'forever' })).toThrow(
      /scenario.yaml: duration: .*duration like/,
    );
    expect(() =>
      parseScenario({
        ...base,
        stations: [{ ...base.stations[0], modbus: [{ id: 'm', unitId: 1, profile: 'toaster' }] }],
      }),
    ).toThrow(/stations\[0\]\.modbus\[0\]\.profile/);
    expect(() =>
      parseScenario({ ...base, timeline: [{ type: 'fall', at: '09:12', person: 'nobody' }] }),
    ).toThrow(/timeline\[0\]\.person: no person nobody/);
    expect(() => parseScenario({ ...base, timeline: [{ type: 'fall', at: '25:00', person: 'p' }] })).toThrow(
      ScenarioError,
    );
    expect(() => parseScenario({ ...base, surprise: 1 })).toThrow(/surprise/);
  });

  it('the village-sim CLI refuses a bad file with exit code 2 and the key', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: x\nstations: [{ id: s1, edge: e1, nbiot: [{ id: n, codec: kettle }] }]\n');
    const r = spawnSync(process.execPath, [SIM, 'check', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad.yaml: stations\[0\]\.nbiot\[0\]\.codec/);
  });

  it('the same seed gives the same recording byte for byte; another seed does not', () => {
    const a = join(tmp, 'a.jsonl');
    const b = join(tmp, 'b.jsonl');
    const c = join(tmp, 'c.jsonl');
    execFileSync(process.execPath, [SIM, 'plan', DEMO, '--out', a, '--seed', '5']);
    execFileSync(process.execPath, [SIM, 'plan', DEMO, '--out', b, '--seed', '5']);
    execFileSync(process.execPath, [SIM, 'plan', DEMO, '--out', c, '--seed', '6']);
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
    // Three CLI starts: about 1 s each on an idle box, past vitest's default 5 s on a loaded one.
  }, 30_000);

  it('puts the timeline into the traffic: the fall at 09:12, the episode 08:00–11:00, the outage', () => {
    const s = loadScenario(DEMO);
    const { frames } = planTraffic(s);
    const at = (hh: number, mm: number) => (hh * 60 + mm) * 60_000;
    // The fall: an NB-IoT wristband uplink at 09:12 whose payload has the fall flag.
    const fall = frames.filter((f) => f.target === 's1/v1-band-01' && f.t === at(9, 12));
    expect(fall).toHaveLength(1);
    const env = decode(Buffer.from(fall[0]!.bytes, 'base64')) as { p: Uint8Array };
    expect(NBIOT_SIM_CODECS.wristband.decodeUplink({ bytes: env.p, fPort: 1 }).data?.fall).toBe(true);
    // No other wristband uplink carries a fall.
    const others = frames.filter((f) => f.target === 's1/v1-band-01' && f.t !== at(9, 12));
    expect(
      others.some(
        (f) =>
          NBIOT_SIM_CODECS.wristband.decodeUplink({
            bytes: (decode(Buffer.from(f.bytes, 'base64')) as { p: Uint8Array }).p,
            fPort: 1,
          }).data?.fall,
      ),
    ).toBe(false);
    // The PM2.5 transmitter's holding register 0 is PM2.5: high inside the episode, low outside.
    const pm = (f: (typeof frames)[number]) => Buffer.from(f.bytes, 'base64').readUInt16BE(0);
    const air = frames.filter((f) => f.target === 's1/v1-air');
    const peak = air.filter((f) => f.t > at(8, 50) && f.t < at(10, 10)).map(pm);
    const clean = air.filter((f) => f.t < at(7, 0) || f.t > at(12, 0)).map(pm);
    expect(Math.min(...peak)).toBeGreaterThan(200);
    expect(Math.max(...clean)).toBeLessThan(40);
    // Station s2 is not in the episode.
    expect(Math.max(...frames.filter((f) => f.target === 's2/v2-air').map(pm))).toBeLessThan(40);
    expect(frames.filter((f) => f.proto === 'link').map((f) => [f.target, f.t, f.meta])).toEqual([
      ['s2/uplink', at(10, 0), { state: 'down' }],
      ['s2/uplink', at(10, 20), { state: 'up' }],
    ]);
    // Frames come in scenario-time order.
    expect(frames.every((f, i) => i === 0 || frames[i - 1]!.t <= f.t)).toBe(true);
  });
});
