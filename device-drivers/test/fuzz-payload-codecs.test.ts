import { type DeviceEvent, type Reading, checkEvent, checkReading } from '@village/protocol';
import { decodeChecked, framesFrom, fuzzParams } from '@village/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LORAWAN_CODECS,
  PM25_FPORT,
  WRISTBAND_FPORT,
  nbSmokeDetector,
  nbWellCover,
  nbWristband,
} from '../src/codecs/index.js';
import { DEVICE_MODELS } from '../src/nbiot/device-models.js';

/**
 * Payload codecs (ChirpStack contract) under random, truncated and mutated payloads: decodeUplink
 * never throws (errors are reported in `errors`), and whatever it accepts maps to readings and
 * events that the wire contract's own checks accept, so a hostile device cannot make the edge
 * store something the cloud would refuse.
 */
const TS = 1_800_000_000_000;
const b = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
const never = () => false;

function checkTelemetry(out: { readings: Reading[]; events: DeviceEvent[] }) {
  out.readings.forEach((r, i) => checkReading(r, `readings[${i}]`));
  out.events.forEach((e, i) => checkEvent(e, `events[${i}]`));
}

const lorawanSeeds = {
  cayenne: [
    b('03 67 0110 05 67 00FF'),
    b('01 67 FFD8  06 71 04D1 FB2F 0000  02 68 61  01 88 06765F F2960A 0003E8'),
  ],
  wristband: [
    LORAWAN_CODECS.wristband.encodeUplink({
      data: {
        heart_rate: 64,
        spo2: 97,
        steps: 65535,
        battery: 100,
        worn: false,
        fall: true,
        sos: true,
        lat: -33.8688,
        lon: 151.2093,
      },
    }).bytes,
  ],
  'lora-pm25': [
    LORAWAN_CODECS['lora-pm25'].encodeUplink({
      data: { pm2_5: 35.2, pm10: 80.1, temperature: -4.5, humidity: 55, battery: 90 },
    }).bytes,
  ],
} as const;

describe('LoRaWAN payload codecs (fuzz)', () => {
  for (const [name, seeds] of Object.entries(lorawanSeeds)) {
    it(`${name}: decodeUplink reports errors, never throws; accepted data makes valid telemetry`, () => {
      const codec = LORAWAN_CODECS[name as keyof typeof LORAWAN_CODECS];
      const ports = { cayenne: 1, wristband: WRISTBAND_FPORT, 'lora-pm25': PM25_FPORT }[name]!;
      for (const s of seeds) expect(codec.decodeUplink({ bytes: s, fPort: ports }).errors).toEqual([]);
      const fPorts = fc.oneof(fc.constant(ports), fc.integer({ min: 1, max: 223 }));
      fc.assert(
        fc.property(framesFrom(seeds, 64), fPorts, (bytes, fPort) => {
          const r = decodeChecked(() => codec.decodeUplink({ bytes, fPort }), never, name);
          if (!r.ok || r.value.errors.length > 0) return;
          // biome-ignore lint/suspicious/noExplicitAny: each codec's data type is its own output
          checkTelemetry(codec.toTelemetry(r.value.data as any, 'dev-1', TS));
        }),
        fuzzParams,
      );
    });
  }
});

describe('NB-IoT payload codecs (fuzz)', () => {
  const seeds = {
    'smoke-detector': [
      nbSmokeDetector.encodeUplink({
        alarm: true,
        self_test: false,
        fault: false,
        smoke_density: 2.35,
        temperature: -4.5,
        battery: 87,
      }),
    ],
    'well-cover': [
      nbWellCover.encodeUplink({
        open: true,
        water_alarm: true,
        tilt_deg: 37.5,
        water_level_cm: 120,
        battery: 55,
      }),
      nbWellCover.encodeUplink({ open: false, water_alarm: false, tilt_deg: -1.2, battery: 99 }),
    ],
    wristband: [
      nbWristband.encodeUplink({
        worn: true,
        fall: true,
        sos: true,
        heart_rate: 72,
        spo2: 97,
        steps: 12345,
        battery: 40,
        lat: 30.123456,
        lon: 120.654321,
      }),
    ],
  } as const;
  for (const [name, valid] of Object.entries(seeds)) {
    it(`${name}: decodeUplink and decodeDownlink never throw; accepted data makes valid telemetry`, () => {
      const model = DEVICE_MODELS[name as keyof typeof DEVICE_MODELS];
      const codec = { 'smoke-detector': nbSmokeDetector, 'well-cover': nbWellCover, wristband: nbWristband }[
        name as keyof typeof seeds
      ];
      for (const s of valid) expect(model.decodeUplink({ bytes: s, fPort: 1 }).errors).toEqual([]);
      fc.assert(
        fc.property(framesFrom(valid, 64), (bytes) => {
          const r = decodeChecked(() => model.decodeUplink({ bytes, fPort: 1 }), never, name);
          if (r.ok && r.value.errors.length === 0)
            checkTelemetry(model.toTelemetry(r.value.data, 'nb-1', TS, new Set()));
          decodeChecked(() => codec.decodeDownlink({ bytes, fPort: 1 }), never, `${name} downlink`);
        }),
        fuzzParams,
      );
    });
  }
});
