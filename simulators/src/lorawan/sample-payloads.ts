import { LORAWAN_CODECS, type LorawanCodecName } from '@village/device-drivers/codecs';

/**
 * Plausible readings for each codec, varied by a sequence number so consecutive uplinks differ,
 * encoded with the very codec the driver decodes with.
 */
export function samplePayload(codec: LorawanCodecName, seq: number): { fPort: number; bytes: Uint8Array } {
  const wave = (min: number, max: number) => min + ((seq * 7) % (max - min + 1));
  let encoded: { bytes: Uint8Array; fPort: number; errors: string[] };
  if (codec === 'wristband') {
    encoded = LORAWAN_CODECS.wristband.encodeUplink({
      data: {
        heart_rate: wave(60, 95),
        spo2: wave(94, 99),
        steps: seq * 13,
        battery: 100 - (seq % 100),
        worn: true,
      },
    });
  } else if (codec === 'lora-pm25') {
    encoded = LORAWAN_CODECS['lora-pm25'].encodeUplink({
      data: {
        pm2_5: wave(10, 80) + 0.5,
        pm10: wave(20, 120),
        temperature: wave(-5, 30) + 0.3,
        humidity: wave(30, 90),
        battery: 88,
      },
    });
  } else {
    encoded = LORAWAN_CODECS.cayenne.encodeUplink({
      data: { temperature_1: wave(-5, 30) + 0.2, humidity_2: wave(30, 90) },
    });
  }
  if (encoded.errors.length > 0) throw new Error(`sample payload for ${codec}: ${encoded.errors.join('; ')}`);
  return { fPort: encoded.fPort, bytes: encoded.bytes };
}
