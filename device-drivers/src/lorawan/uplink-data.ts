import type { Reading } from '@village/protocol';
import { LORAWAN_CODECS } from '../codecs/index.js';
import { type DataUplink, verifyDataUplink } from './data-uplink.js';
import type { Reception } from './dedup.js';
import { buildDataDownlink } from './downlink-frame.js';
import { scheduleDownlink } from './downlink-scheduler.js';
import { LorawanError } from './errors.js';
import type { LoraPacket } from './lora-packet-lib.js';
import { type LorawanRuntime, fail } from './runtime.js';

/**
 * A data uplink (ChirpStack's uplink/data): authenticate and advance the counter, decode, hand
 * the readings to the outbox, and only then answer in the receive window (ACK and/or the head of
 * the downlink queue).
 */
export async function handleDataUplink(
  rt: LorawanRuntime,
  pkt: LoraPacket,
  receptions: Reception[],
): Promise<void> {
  const { ctx, store } = rt;
  const devAddr = pkt.DevAddr!.toString('hex');
  const candidates = rt.byDevAddr.get(devAddr);
  if (candidates === undefined)
    throw new LorawanError('devaddr_unknown', `DevAddr ${devAddr} has no session`);
  const up: DataUplink = verifyDataUplink(pkt, candidates);
  // Persist the counter before anything else: from here on a replay of this frame is refused.
  const previousFCnt = up.session.fCntUp;
  up.session.fCntUp = up.fCnt;
  store!.setFCntUp(up.session.devEui, up.fCnt);
  rt.counters.uplinks++;
  const device = rt.devicesByEui.get(up.session.devEui)!;
  let data: unknown = null;
  if (up.fPort !== null && up.fPort > 0) {
    const codec = LORAWAN_CODECS[device.codec];
    const decoded = codec.decodeUplink({ bytes: up.payload, fPort: up.fPort });
    for (const w of decoded.warnings)
      ctx.log.warn({ deviceId: device.id, warning: w }, 'lorawan: codec warning');
    if (decoded.errors.length > 0) {
      fail(rt, 'codec_error', `lorawan: ${device.id}: ${decoded.errors.join('; ')}`, { deviceId: device.id });
    } else {
      data = decoded.data;
      const ts = Math.max(ctx.now(), (rt.lastTs.get(device.id) ?? 0) + 1);
      rt.lastTs.set(device.id, ts);
      // biome-ignore lint/suspicious/noExplicitAny: the codec is chosen at run time; its data is its own output
      const { readings, events } = codec.toTelemetry(decoded.data as any, device.id, ts);
      const best = receptions.reduce((a, b) => (b.snr > a.snr ? b : a));
      const radio: Reading[] = [
        { device: device.id, metric: 'rssi', value: best.rssi, unit: 'dBm', ts, quality: 'good' },
        { device: device.id, metric: 'snr', value: best.snr, unit: 'dB', ts, quality: 'good' },
        {
          device: device.id,
          metric: 'gateways',
          value: receptions.length,
          unit: 'count',
          ts,
          quality: 'good',
        },
      ];
      try {
        await ctx.emitReadings([...readings, ...radio]);
        for (const e of events) await ctx.emitEvent(e);
      } catch (err) {
        // Not stored, so not acknowledged: give the counter back, so that the device's retry of
        // this same frame (LoRaWAN 1.0 confirmed uplinks are resent with their FCnt) is taken
        // rather than refused as a replay, which would lose it. Unless a later frame moved on.
        if (up.session.fCntUp === up.fCnt) {
          up.session.fCntUp = previousFCnt;
          store!.setFCntUp(up.session.devEui, previousFCnt);
        }
        throw err;
      }
    }
  }
  rt.hooks.onUplink?.({
    deviceId: device.id,
    devEui: up.session.devEui,
    devAddr,
    fCnt: up.fCnt,
    fPort: up.fPort,
    confirmed: up.confirmed,
    receptions,
    data,
  });
  // Class A: the only chance to reach the device is right after its uplink. The ACK goes out
  // only now that the readings are durable in the outbox.
  const queue = rt.queues.get(device.id) ?? [];
  if (rt.stopped || (!up.confirmed && queue.length === 0)) return;
  scheduleDownlink(rt, receptions, 'data', device.id, () => {
    const frame = queue.shift();
    const fCntDown = rt.store!.takeFCntDown(up.session.devEui);
    up.session.fCntDown = fCntDown + 1;
    return buildDataDownlink(up.session, fCntDown, { ack: up.confirmed, fPending: queue.length > 0, frame });
  });
}
