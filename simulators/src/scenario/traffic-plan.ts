import { LORAWAN_CODECS } from '@village/device-drivers/codecs';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { isapiAlertXml } from '../camera/isapi-camera.js';
import { createEndDevice } from '../lorawan/end-device-sim.js';
import { createRadioMedium } from '../lorawan/radio-medium.js';
import { createSlaveImage } from '../modbus/slave-image.js';
import { scriptValues } from '../modbus/value-script.js';
import { NBIOT_SIM_CODECS } from '../nbiot/nbiot-device.js';
import { readSpanBytes, tableSpans } from '../record/modbus-register-frame.js';
import type { Frame, RecordingHeader } from '../record/recording-format.js';
import { cameraIdentity, lorawanIdentity, nbiotIdentity } from './device-identities.js';
import { nbiotEnvelope } from './nbiot-envelope.js';
import { isWaking, pm25At, pollutionAt } from './phenomena.js';
import type { Scenario, ScenarioPerson, ScenarioStation } from './scenario-schema.js';
import { type SeededRandom, seededRandom } from './seeded-random.js';

/**
 * Turns a scenario into the exact frames its devices send, in scenario time. Pure apart from
 * reading the shipped Modbus profiles: no clock, no network, randomness only from the seed, so
 * the same scenario and seed always give the same frames (and so the same recording).
 * Scenario time reaches the payloads only where the protocol carries a time: ISAPI `dateTime`.
 * Modbus, LoRaWAN and NB-IoT payloads carry none: the edge stamps those readings with its own
 * clock when they arrive (docs/simulators.md, "Scenario time").
 */
export interface TrafficPlan {
  header: RecordingHeader;
  frames: Frame[];
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** Report times of a periodic device: a seeded phase in [0, every), then every `every`. */
function ticks(r: SeededRandom, every: number, duration: number): number[] {
  const out: number[] = [];
  for (let t = r.int(every); t < duration; t += every) out.push(t);
  return out;
}

export function planTraffic(scenario: Scenario): TrafficPlan {
  const frames: Frame[] = [];
  const startMs = Date.parse(scenario.start);
  const header: RecordingHeader = {
    format: 'village-sim-recording',
    version: 1,
    scenario: scenario.name,
    seed: scenario.seed,
    start: scenario.start,
    durationMs: scenario.duration,
    compression: scenario.compression,
    stations: {},
  };
  for (const st of scenario.stations) {
    header.stations[st.id] = {
      edge: st.edge,
      gateways: st.lorawan?.gateways ?? [],
      cameras: Object.fromEntries(st.cameras.map((c) => [c.id, cameraIdentity(scenario, c.id)])),
    };
    planModbus(scenario, st, frames);
    planLorawan(scenario, st, frames);
    planNbiot(scenario, st, frames);
    planCameras(scenario, st, startMs, frames);
  }
  for (const ph of scenario.timeline) {
    if (ph.type !== 'edge-outage') continue;
    frames.push({
      t: ph.from,
      proto: 'link',
      target: `${ph.station}/uplink`,
      bytes: '',
      meta: { state: 'down' },
    });
    frames.push({
      t: ph.to,
      proto: 'link',
      target: `${ph.station}/uplink`,
      bytes: '',
      meta: { state: 'up' },
    });
  }
  // Stable sort: frames of one device at one time keep the order they were made in.
  frames.sort((a, b) => a.t - b.t);
  return { header, frames };
}

function planModbus(scenario: Scenario, st: ScenarioStation, frames: Frame[]): void {
  for (const d of st.modbus) {
    const profile = loadProfileFile(shippedProfilePath(d.profile));
    const image = createSlaveImage(profile);
    const r = seededRandom(scenario.seed, `modbus/${d.id}`);
    const spans = tableSpans(profile);
    for (const t of ticks(r, d.every, scenario.duration)) {
      const values = scriptValues('steady', profile, 0);
      const { level } = pollutionAt(scenario, st.id, t);
      // Water and other pollution metrics follow the shipped episode shape; PM2.5 follows the timeline's peak.
      if (level > 0)
        Object.assign(
          values,
          scriptValues('pollution-episode', profile, level * 2500, { episodeMs: 10_000 }),
        );
      for (const p of profile.points) {
        if (p.writable) continue;
        const metric = p.metric ?? p.name;
        const v = values[p.name];
        if (metric === 'pm2_5')
          values[p.name] = Math.round(pm25At(scenario, st.id, t) * r.between(0.95, 1.05));
        else if (metric === 'pm10' && typeof v === 'number')
          values[p.name] = Math.round(v * r.between(0.95, 1.05));
        else if ((metric === 'temperature' || metric === 'humidity') && typeof v === 'number')
          values[p.name] = round1(v + r.between(-0.5, 0.5));
        else if (metric === 'uptime') values[p.name] = Math.floor(t / 3_600_000);
      }
      for (const [name, value] of Object.entries(values)) image.set(name, value);
      for (const span of spans) {
        frames.push({
          t,
          proto: 'modbus',
          target: `${st.id}/${d.id}`,
          bytes: b64(readSpanBytes(image, span)),
          meta: { unitId: d.unitId, profile: d.profile, table: span.table, address: span.address },
        });
      }
    }
  }
}

function planLorawan(scenario: Scenario, st: ScenarioStation, frames: Frame[]): void {
  if (!st.lorawan) return;
  // A medium with no gateway: the end devices here only build frames, the player transmits them.
  const radio = createRadioMedium();
  const air = (r: SeededRandom) => ({ freqMHz: round1(470.3 + 0.2 * r.int(96)), datr: 'SF7BW125' });
  const push = (t: number, id: string, r: SeededRandom, phy: Buffer) =>
    frames.push({ t, proto: 'lorawan', target: `${st.id}/${id}`, bytes: b64(phy), meta: air(r) });
  for (const d of st.lorawan.devices) {
    const dev = createEndDevice({ id: d.id, activation: 'abp', ...lorawanIdentity(scenario, d.id) }, radio);
    const r = seededRandom(scenario.seed, `lorawan/${d.id}`);
    for (const t of ticks(r, d.every, scenario.duration)) {
      const pm25 = pm25At(scenario, st.id, t) * r.between(0.95, 1.05);
      const enc =
        d.codec === 'lora-pm25'
          ? LORAWAN_CODECS['lora-pm25'].encodeUplink({
              data: {
                pm2_5: round1(pm25),
                pm10: round1(pm25 * 1.6),
                temperature: round1(18 + r.between(-2, 2)),
                humidity: round1(60 + r.between(-5, 5)),
                battery: 90,
              },
            })
          : LORAWAN_CODECS.cayenne.encodeUplink({
              data: {
                temperature_1: round1(18 + r.between(-2, 2)),
                humidity_2: round1(60 + r.between(-5, 5)),
              },
            });
      if (enc.errors.length > 0) throw new Error(`${d.id} at ${t}: ${enc.errors.join('; ')}`);
      push(t, d.id, r, dev.buildUplink({ fPort: enc.fPort, bytes: enc.bytes }));
    }
    dev.stop();
  }
  for (const p of scenario.people) {
    if (p.station !== st.id || p.wristband.network !== 'lorawan') continue;
    const dev = createEndDevice(
      { id: p.wristband.id, activation: 'abp', ...lorawanIdentity(scenario, p.wristband.id) },
      radio,
    );
    const r = seededRandom(scenario.seed, `wristband/${p.wristband.id}`);
    for (const { t, data } of wristbandReports(scenario, p, r)) {
      const enc = LORAWAN_CODECS.wristband.encodeUplink({ data: { ...data, steps: data.steps % 65_536 } });
      if (enc.errors.length > 0) throw new Error(`${p.wristband.id} at ${t}: ${enc.errors.join('; ')}`);
      push(t, p.wristband.id, r, dev.buildUplink({ fPort: enc.fPort, bytes: enc.bytes }));
    }
    dev.stop();
  }
}

interface BandData {
  worn: boolean;
  fall: boolean;
  sos: boolean;
  heart_rate: number;
  spo2: number;
  steps: number;
  battery: number;
}

/** A wristband's reports: periodic vitals, plus an immediate report with the flag at a fall or an SOS. */
function wristbandReports(
  scenario: Scenario,
  p: ScenarioPerson,
  r: SeededRandom,
): { t: number; data: BandData }[] {
  const alarms = scenario.timeline.flatMap((ph) =>
    (ph.type === 'fall' || ph.type === 'sos') && ph.person === p.id ? [{ t: ph.at, type: ph.type }] : [],
  );
  const times = [
    ...ticks(r, p.wristband.every, scenario.duration).map((t) => ({
      t,
      alarm: undefined as string | undefined,
    })),
  ];
  for (const a of alarms) times.push({ t: a.t, alarm: a.type });
  times.sort((a, b) => a.t - b.t);
  let steps = 0;
  let day = 0;
  let lastT = 0;
  const [lo, hi] = p.heartRate;
  return times.map(({ t, alarm }) => {
    if (Math.floor(t / 86_400_000) !== day) {
      day = Math.floor(t / 86_400_000);
      steps = 0; // the band's counter resets at local midnight
    }
    if (isWaking(t)) steps += Math.round(((t - lastT) / 60_000) * r.between(5, 25));
    lastT = t;
    const data: BandData = {
      worn: true,
      fall: alarm === 'fall',
      sos: alarm === 'sos',
      heart_rate: Math.round(r.between(lo + 3, hi - 3)),
      spo2: 95 + r.int(5),
      steps,
      battery: Math.max(5, 100 - Math.floor(t / 3_600_000)),
    };
    return { t, data };
  });
}

function planNbiot(scenario: Scenario, st: ScenarioStation, frames: Frame[]): void {
  const push = (t: number, id: string, imei: string, body: Buffer) =>
    frames.push({
      t,
      proto: 'nbiot',
      target: `${st.id}/${id}`,
      bytes: b64(body),
      meta: { imei, format: 'cbor' },
    });
  for (const d of st.nbiot) {
    const k = nbiotIdentity(scenario, d.id);
    const r = seededRandom(scenario.seed, `nbiot/${d.id}`);
    let counter = 0;
    const reports: { t: number; alarm: boolean }[] = ticks(r, d.every, scenario.duration).map((t) => ({
      t,
      alarm: false,
    }));
    for (const ph of scenario.timeline) {
      if (ph.type !== 'smoke' || ph.device !== d.id) continue;
      // An alarm report at once, and the all-clear five minutes later, as detectors do.
      reports.push(
        { t: ph.at, alarm: true },
        { t: Math.min(ph.at + 300_000, scenario.duration - 1), alarm: false },
      );
    }
    reports.sort((a, b) => a.t - b.t);
    for (const { t, alarm } of reports) {
      const payload =
        d.codec === 'smoke-detector'
          ? NBIOT_SIM_CODECS['smoke-detector'].encodeUplink({
              alarm,
              self_test: false,
              fault: false,
              smoke_density: alarm ? 12.5 : Math.round(r.between(0, 0.5) * 100) / 100,
              temperature: round1(20 + r.between(-2, 2)),
              battery: 97,
            })
          : NBIOT_SIM_CODECS['well-cover'].encodeUplink({
              open: false,
              water_alarm: false,
              tilt_deg: round1(r.between(0, 2)),
              water_level_cm: Math.round(r.between(40, 60)),
              battery: 95,
            });
      push(t, d.id, k.imei, nbiotEnvelope(k.imei, k.key, ++counter, payload));
    }
  }
  for (const p of scenario.people) {
    if (p.station !== st.id || p.wristband.network !== 'nbiot') continue;
    const k = nbiotIdentity(scenario, p.wristband.id);
    const r = seededRandom(scenario.seed, `wristband/${p.wristband.id}`);
    let counter = 0;
    for (const { t, data } of wristbandReports(scenario, p, r)) {
      const payload = NBIOT_SIM_CODECS.wristband.encodeUplink(data);
      push(t, p.wristband.id, k.imei, nbiotEnvelope(k.imei, k.key, ++counter, payload));
    }
  }
}

function planCameras(scenario: Scenario, st: ScenarioStation, startMs: number, frames: Frame[]): void {
  for (const c of st.cameras) {
    const r = seededRandom(scenario.seed, `camera/${c.id}`);
    const ip = `192.168.1.${64 + r.int(100)}`;
    const events: { t: number; intrusion: boolean }[] = ticks(r, c.heartbeat, scenario.duration).map((t) => ({
      t,
      intrusion: false,
    }));
    for (const ph of scenario.timeline)
      if (ph.type === 'intrusion' && ph.camera === c.id) events.push({ t: ph.at, intrusion: true });
    events.sort((a, b) => a.t - b.t);
    let count = 0;
    for (const { t, intrusion } of events) {
      const xml = isapiAlertXml({
        eventType: intrusion ? 'fielddetection' : 'videoloss',
        state: intrusion ? 'active' : 'inactive',
        channel: 1,
        ip,
        time: new Date(startMs + t),
        count: intrusion ? ++count : 0,
      });
      frames.push({
        t,
        proto: 'camera',
        target: `${st.id}/${c.id}`,
        bytes: b64(Buffer.from(xml)),
        meta: {
          path: `/cam/${encodeURIComponent(c.id)}/isapi`,
          contentType: 'application/xml; charset="UTF-8"',
        },
      });
    }
  }
}
