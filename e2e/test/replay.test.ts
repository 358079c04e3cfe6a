import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type StationEndpoints,
  edgeDriversFor,
  loadScenario,
  openRecording,
  planTraffic,
  playFrames,
  readRecording,
  startModbusGateways,
} from '@village/simulators';
import { freePort, freeUdpPort, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/**
 * Record a live scenario run against a real cloud and edge, replay the recording against a
 * fresh cloud and edge, and compare what was stored. Stored timestamps are the edge's clock at
 * arrival for these protocols, so they differ between runs by design; what must match is the
 * multiset of (device, metric, value) for pushed traffic and of (device, type) for events. Modbus
 * is polled at the edge's own rate, so how many times a value is read differs: for Modbus the
 * distinct (device, metric, value) sets are compared (the test scenario keeps Modbus values steady).
 */
const SCENARIO = join(import.meta.dirname, '..', '..', 'simulators', 'scenarios', 'replay-test.yaml');

async function ports(): Promise<StationEndpoints> {
  return {
    host: '127.0.0.1',
    lorawan: await freeUdpPort(),
    nbiot: await freeUdpPort(),
    camera: await freePort(),
    modbus: await freePort(),
  };
}

interface Stored {
  pushed: string[];
  modbus: string[];
  events: string[];
}

function stored(v: Village, modbusDevices: Set<string>): Stored {
  const rows = v.query<{ device: string; metric: string; value: unknown; quality: number }>(
    'SELECT s.device, s.metric, r.value, r.quality FROM readings r JOIN series s ON s.id = r.series_id',
  );
  const key = (r: { device: string; metric: string; value: unknown }) =>
    `${r.device}|${r.metric}|${String(r.value)}`;
  const pushed = rows
    .filter((r) => !modbusDevices.has(r.device))
    .map(key)
    .sort();
  // Modbus readings of quality good only: a poll that fails (e.g. as the test stops) is not traffic.
  const modbus = [
    ...new Set(rows.filter((r) => modbusDevices.has(r.device) && r.quality === 0).map(key)),
  ].sort();
  const events = v
    .query<{ device: string; type: string }>('SELECT device, type FROM events')
    .map((e) => `${e.device}|${e.type}`)
    .sort();
  return { pushed, modbus, events };
}

const villages: Village[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'e2e-replay-'));
afterAll(async () => {
  for (const v of villages) await v.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** Waits until the edge's outbox is empty and the stored count has not moved for `quietMs`. */
async function delivered(v: Village, count: () => number, quietMs = 1_500): Promise<void> {
  let last = -1;
  let since = Date.now();
  await waitFor(
    'everything sent to be stored',
    async () => {
      const m = await v.edgeMetrics();
      const empty = m.get('edge_outbox_pending_events') === 0 && m.get('edge_outbox_batches') === 0;
      const n = count();
      if (n !== last) {
        last = n;
        since = Date.now();
      }
      return empty && n > 0 && Date.now() - since > quietMs;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

describe('record and replay', () => {
  it(
    'replaying a recording stores the same readings as the live run that made it',
    { timeout: 180_000 },
    async () => {
      const scenario = loadScenario(SCENARIO);
      const plan = planTraffic(scenario);
      const modbusDevices = new Set(scenario.stations.flatMap((s) => s.modbus.map((d) => d.id)));
      const recording = join(tmp, 'live.jsonl');

      const startVillage = async (name: string) => {
        const v = await createVillage(name);
        villages.push(v);
        const ep = await ports();
        await v.startCloud();
        return { v, ep };
      };

      // Live run: the scenario's traffic, recorded as it is sent.
      const a = await startVillage('replay-live');
      const modbusA = await startModbusGateways(plan.frames, { s1: a.ep });
      await a.v.startEdge(edgeDriversFor(scenario, 's1', a.ep, { modbusPollMs: 500 }));
      const recorder = openRecording(recording, plan.header);
      const liveSummary = await playFrames(plan.header, plan.frames, {
        endpoints: { s1: a.ep },
        speed: plan.header.compression,
        recorder,
        modbus: modbusA,
      });
      await recorder.close();
      expect(liveSummary.errors, JSON.stringify(liveSummary.errorReasons)).toBe(0);
      expect(liveSummary.acknowledged).toBe(liveSummary.sent);
      await delivered(a.v, () => stored(a.v, modbusDevices).pushed.length);
      const live = stored(a.v, modbusDevices);
      for (const sim of modbusA.values()) await sim.stop();

      // The recording holds exactly the planned frames.
      const rec = await readRecording(recording);
      expect(rec.frames).toEqual(plan.frames);
      expect(live.events).toEqual(
        expect.arrayContaining(['t-band-nb|fall', 't-cam|intrusion', 't-smoke|smoke']),
      );
      expect(live.modbus.length).toBeGreaterThan(5);

      // Replay against a fresh cloud and edge.
      const b = await startVillage('replay-again');
      const modbusB = await startModbusGateways(rec.frames, { s1: b.ep });
      await b.v.startEdge(edgeDriversFor(scenario, 's1', b.ep, { modbusPollMs: 500 }));
      const replaySummary = await playFrames(rec.header, rec.frames, {
        endpoints: { s1: b.ep },
        speed: rec.header.compression,
        modbus: modbusB,
      });
      expect(replaySummary.errors, JSON.stringify(replaySummary.errorReasons)).toBe(0);
      expect(replaySummary.sent).toBe(liveSummary.sent);
      await waitFor('the replay to store what the live run stored', () => {
        const s = stored(b.v, modbusDevices);
        return (
          s.pushed.length >= live.pushed.length &&
          s.events.length >= live.events.length &&
          s.modbus.length >= live.modbus.length
        );
      });
      await delivered(b.v, () => stored(b.v, modbusDevices).pushed.length);
      const again = stored(b.v, modbusDevices);
      for (const sim of modbusB.values()) await sim.stop();
      expect(again.pushed).toEqual(live.pushed);
      expect(again.events).toEqual(live.events);
      expect(again.modbus).toEqual(live.modbus);
    },
  );
});
