import type { DeviceEvent, Reading } from '@village/protocol';
import { type DataUplink, verifyDataUplink } from './data-uplink.js';
import type { Reception } from './dedup.js';
import { MAX_FOPTS, buildDataDownlink } from './downlink-frame.js';
import type { QueuedRow } from './downlink-queue.js';
import { scheduleDownlink } from './downlink-scheduler.js';
import { LorawanError } from './errors.js';
import type { LoraPacket } from './lora-packet-lib.js';
import { encodeDownlinkMac } from './mac-commands.js';
import { handleUplinkMac } from './mac-layer.js';
import { type LorawanRuntime, fail } from './runtime.js';

/**
 * A data uplink (ChirpStack's uplink/data): authenticate and advance the counter, decode the
 * application payload and the MAC commands, hand the readings to the outbox, and only then
 * answer in the receive window: the ACK, MAC answers and requests, and the head of the downlink
 * queue (a confirmed frame the device did not acknowledge goes again, a bounded number of times).
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
  const ts = Math.max(ctx.now(), (rt.lastTs.get(device.id) ?? 0) + 1);
  const mac = handleUplinkMac(rt, device.id, up, receptions, ts);
  const toEmit: Reading[] = [...mac.readings];
  let events: DeviceEvent[] = [];
  let data: unknown = null;
  if (up.fPort !== null && up.fPort > 0) {
    const codec = rt.codecs.get(device.id)!;
    const decoded = codec.decodeUplink({ bytes: up.payload, fPort: up.fPort });
    for (const w of decoded.warnings)
      ctx.log.warn({ deviceId: device.id, warning: w }, 'lorawan: codec warning');
    if (decoded.errors.length > 0) {
      fail(rt, 'codec_error', `lorawan: ${device.id}: ${decoded.errors.join('; ')}`, { deviceId: device.id });
    } else {
      data = decoded.data;
      const active = rt.codecStates.get(device.id) ?? new Set<string>();
      rt.codecStates.set(device.id, active);
      const telemetry = codec.toTelemetry(decoded.data, device.id, ts, active);
      events = telemetry.events;
      const best = receptions.reduce((a, b) => (b.snr > a.snr ? b : a));
      toEmit.unshift(
        ...telemetry.readings,
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
      );
    }
  }
  if (toEmit.length > 0 || events.length > 0) {
    rt.lastTs.set(device.id, ts);
    try {
      if (toEmit.length > 0) await ctx.emitReadings(toEmit);
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
  if (rt.stopped) return;
  const frame = await nextFrame(rt, device.id, up.ack);
  // A stop during that await closed the queue; the rows wait on disk for the next start.
  if (rt.stopped || rt.downlinks === undefined) return;
  const macRows = rt.downlinks!.macRows(device.id);
  const macBytes = Buffer.concat([encodeDownlinkMac(mac.downlink), ...macRows.map((r) => r.payload)]);
  // MAC commands first: when they do not fit in FOpts beside the frame, they go alone on FPort 0
  // and the frame waits for the next uplink (FPending tells the device to make one soon).
  const withFrame = frame !== undefined && macBytes.length <= MAX_FOPTS ? frame : undefined;
  // Class A: the only chance to reach the device is right after its uplink. The ACK goes out
  // only now that the readings are durable in the outbox.
  if (!up.confirmed && !up.adrAckReq && withFrame === undefined && macBytes.length === 0) return;
  const depth = rt.downlinks!.depth(device.id);
  const sent = scheduleDownlink(rt, receptions, 'data', device.id, () => {
    const fCntDown = rt.store!.takeFCntDown(up.session.devEui);
    up.session.fCntDown = fCntDown + 1;
    return buildDataDownlink(up.session, fCntDown, {
      ack: up.confirmed,
      fPending: depth > (withFrame ? 1 : 0),
      frame: withFrame,
      mac: macBytes,
    });
  });
  if (!sent) return;
  rt.counters.macCommandsOut += mac.downlink.length + macRows.length;
  for (const r of macRows) rt.downlinks!.markSent(r);
  if (withFrame) {
    if (withFrame.attempts > 0) rt.counters.retransmissions++;
    rt.downlinks!.markSent(withFrame);
  }
}

/**
 * The frame for this uplink's window. A confirmed frame in flight (sent, not yet acknowledged)
 * is settled by this uplink's ACK bit: acknowledged → done; not → sent again, until it has been
 * sent 1 + `confirmedDownlinkRetries` times, then reported failed (counted, logged, and an event
 * naming the command and the code, so whoever sent it learns it did not arrive).
 */
async function nextFrame(rt: LorawanRuntime, deviceId: string, ack: boolean): Promise<QueuedRow | undefined> {
  const q = rt.downlinks!;
  const head = q.head(deviceId);
  if (head === undefined || head.attempts === 0) return head;
  if (ack) {
    q.remove(head.id);
    rt.counters.downlinksAcked++;
    rt.ctx.log.info(
      { deviceId, commandId: head.commandId, attempts: head.attempts },
      'lorawan: confirmed downlink acknowledged',
    );
    return q.head(deviceId);
  }
  if (head.attempts <= rt.config.confirmedDownlinkRetries) {
    rt.ctx.log.info(
      { deviceId, commandId: head.commandId, attempts: head.attempts },
      'lorawan: confirmed downlink not acknowledged; resending',
    );
    return head;
  }
  // The event is durable before the row goes: a failed emit leaves it to be reported next uplink.
  await rt.ctx.emitEvent({
    device: deviceId,
    type: 'downlink_failed',
    severity: 'warning',
    ts: rt.ctx.now(),
    data: {
      code: 'downlink_not_acked',
      commandId: head.commandId,
      attempts: head.attempts,
      fPort: head.fPort,
    },
  });
  // Stopped meanwhile: the row stays on disk and is reported again after the restart (at least once).
  if (rt.stopped || rt.downlinks !== q) return undefined;
  q.remove(head.id);
  rt.counters.downlinksFailed++;
  fail(
    rt,
    'downlink_not_acked',
    `lorawan: ${deviceId}: command ${head.commandId} not acknowledged after ${head.attempts} sends`,
    {
      deviceId,
      commandId: head.commandId,
    },
  );
  return q.head(deviceId);
}
