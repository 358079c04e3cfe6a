import type { Reading } from '@village/protocol';
import { ADR_HISTORY, defaultAdr } from './adr.js';
import type { DataUplink } from './data-uplink.js';
import type { Reception } from './dedup.js';
import { LorawanError } from './errors.js';
import { type DownlinkMac, type UplinkMac, parseUplinkMac } from './mac-commands.js';
import { REQUIRED_SNR_DB, dataRateIndex } from './region.js';
import { type LorawanRuntime, type MacState, handleError } from './runtime.js';

/**
 * The MAC layer of one data uplink, as ChirpStack's network server does it: the device's own
 * requests (LinkCheckReq) are answered in this uplink's receive window; its answers to ours
 * (LinkADRAns, DevStatusAns) update the device's state or become readings; ADR and the periodic
 * DevStatusReq add requests of ours. MAC commands come in FOpts and in FPort 0 FRMPayloads alike.
 */
export interface UplinkMacResult {
  /** To send in this uplink's receive window. */
  downlink: DownlinkMac[];
  readings: Reading[];
}

export function macStateOf(rt: LorawanRuntime, devEui: string): MacState {
  let s = rt.mac.get(devEui);
  if (s === undefined) {
    s = { history: [], txPowerIndex: 0, nbTrans: 1 };
    rt.mac.set(devEui, s);
  }
  return s;
}

const bestSnr = (receptions: readonly Reception[]) => Math.max(...receptions.map((r) => r.snr));

export function handleUplinkMac(
  rt: LorawanRuntime,
  deviceId: string,
  up: DataUplink,
  receptions: readonly Reception[],
  ts: number,
): UplinkMacResult {
  const state = macStateOf(rt, up.session.devEui);
  const commands: UplinkMac[] = [];
  for (const [where, bytes] of [
    ['FOpts', up.fOpts],
    ['FPort 0', up.fPort === 0 ? up.payload : Buffer.alloc(0)],
  ] as const) {
    if (bytes.length === 0) continue;
    try {
      commands.push(...parseUplinkMac(bytes));
    } catch (err) {
      // The commands before the bad one are kept; the uplink's data is not affected.
      handleError(
        rt,
        err instanceof LorawanError
          ? new LorawanError(err.code, `${deviceId} ${where}: ${err.message}`)
          : err,
        {
          deviceId,
        },
      );
    }
  }
  rt.counters.macCommandsIn += commands.length;
  const downlink: DownlinkMac[] = [];
  const readings: Reading[] = [];
  const datr = receptions.reduce((a, b) => (b.snr > a.snr ? b : a)).datr;
  const dr = dataRateIndex(rt.region, datr);
  for (const c of commands) {
    switch (c.cid) {
      case 'LinkCheckReq': {
        // ChirpStack link_check.rs: margin over the datarate's floor, never negative, truncated.
        const floor = dr === undefined ? REQUIRED_SNR_DB[0]! : REQUIRED_SNR_DB[dr]!;
        const margin = Math.max(0, Math.trunc(bestSnr(receptions) - floor));
        downlink.push({ cid: 'LinkCheckAns', margin, gwCnt: receptions.length });
        break;
      }
      case 'LinkADRAns': {
        const pending = state.adrPending;
        state.adrPending = undefined;
        if (c.powerAck && c.dataRateAck && c.channelMaskAck) {
          if (pending !== undefined) {
            state.txPowerIndex = pending.txPowerIndex;
            state.nbTrans = pending.nbTrans;
          }
          rt.ctx.log.info({ deviceId, ...pending }, 'lorawan: ADR applied by the device');
        } else {
          handleError(
            rt,
            new LorawanError(
              'mac_link_adr_rejected',
              `${deviceId} refused LinkADRReq (power ${c.powerAck}, datarate ${c.dataRateAck}, channel mask ${c.channelMaskAck})`,
            ),
            { deviceId },
          );
        }
        break;
      }
      case 'DevStatusAns': {
        const base = { device: deviceId, ts, quality: 'good' as const };
        // §5.5: 0 external power, 1..254 battery level, 255 the device cannot tell.
        if (c.battery === 0) readings.push({ ...base, metric: 'external_power', value: true, unit: '' });
        else if (c.battery <= 254)
          readings.push({
            ...base,
            metric: 'battery',
            value: Math.round((c.battery / 254) * 1000) / 10,
            unit: '%',
          });
        readings.push({ ...base, metric: 'link_margin', value: c.margin, unit: 'dB' });
        break;
      }
      case 'other':
        rt.ctx.log.debug({ deviceId, cid: c.code }, 'lorawan: MAC command not handled');
        break;
    }
  }
  downlink.push(...adrRequest(rt, deviceId, up, receptions, state, dr));
  const interval = rt.config.devStatusIntervalMs;
  if (interval > 0 && (state.lastDevStatusAt === undefined || ts - state.lastDevStatusAt >= interval)) {
    state.lastDevStatusAt = ts;
    downlink.push({ cid: 'DevStatusReq' });
  }
  return { downlink, readings };
}

/** Runs ADR over this uplink (when the device asks for it): a LinkADRReq when anything should change. */
function adrRequest(
  rt: LorawanRuntime,
  deviceId: string,
  up: DataUplink,
  receptions: readonly Reception[],
  state: MacState,
  dr: number | undefined,
): DownlinkMac[] {
  state.history.push({ fCnt: up.fCnt, maxSnr: bestSnr(receptions), txPowerIndex: state.txPowerIndex });
  if (state.history.length > ADR_HISTORY) state.history.shift();
  if (!up.adr || dr === undefined) return [];
  const result = defaultAdr({
    dr,
    txPowerIndex: state.txPowerIndex,
    nbTrans: state.nbTrans,
    maxDr: rt.region.dataRates.length - 1,
    maxTxPowerIndex: rt.region.maxTxPowerIndex,
    requiredSnr: REQUIRED_SNR_DB[dr]!,
    installationMargin: rt.config.adrInstallationMarginDb,
    history: state.history,
  });
  if (result.dr === dr && result.txPowerIndex === state.txPowerIndex && result.nbTrans === state.nbTrans)
    return [];
  state.adrPending = result;
  rt.ctx.log.info(
    { deviceId, from: { dr, txPowerIndex: state.txPowerIndex }, to: result },
    'lorawan: ADR LinkADRReq',
  );
  // ChMaskCntl 6: all defined channels on (EU868 and CN470 alike), so the mask itself is ignored.
  return [
    {
      cid: 'LinkADRReq',
      dataRate: result.dr,
      txPower: result.txPowerIndex,
      chMask: 0xffff,
      chMaskCntl: 6,
      nbTrans: result.nbTrans,
    },
  ];
}
