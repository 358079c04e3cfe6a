import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Real peers over real UDP on 127.0.0.1: the simulators' Semtech UDP gateways and class A end
// devices, which decode and answer MAC commands with their own code (not the driver's).
import {
  type EndDeviceConfig,
  type LorawanSimulation,
  startLorawanSimulation,
} from '../../simulators/src/lorawan/index.js';
import { type LorawanConfigInput, type LorawanDriver, createLorawanDriver } from '../src/lorawan/index.js';
import { type RecordingContext, createRecordingContext } from './lorawan-fixtures/recording-context.js';

const GATEWAYS = ['aa555a0000000011', 'aa555a0000000012'];
const abp = (n: number, extra: { adr?: boolean; datr?: string } = {}) => ({
  id: `mac-${n}`,
  devEui: `70b3d57ed00200${n.toString(16).padStart(2, '0')}`,
  codec: 'cayenne' as const,
  activation: 'abp' as const,
  devAddr: `0200${n.toString(16).padStart(4, '0')}`,
  nwkSKey: `${n.toString(16).padStart(2, '0')}${'2b7e151628aed2a6abf715'}${'0'.repeat(8)}`,
  appSKey: `${n.toString(16).padStart(2, '0')}${'3c4fcf098815f7aba6d215'}${'0'.repeat(8)}`,
  ...extra,
});
const DEVICES = [abp(1), abp(2), abp(3, { adr: true, datr: 'SF12BW125' }), abp(4), abp(5), abp(6)];
const cayenne = new Uint8Array([1, 0x67, 0x01, 0x10]); // temperature_1 27.2 °C

describe(
  'LoRaWAN MAC commands, confirmed-downlink retries, persistent queue and ABP counter reset',
  { timeout: 20_000 },
  () => {
    let ctx: RecordingContext;
    let driver: LorawanDriver;
    let sim: LorawanSimulation;
    const config: LorawanConfigInput = {
      port: 0,
      bind: '127.0.0.1',
      gateways: GATEWAYS.map((eui) => ({ eui })),
      region: 'CN470',
      dedupWindowMs: 150,
      confirmedDownlinkRetries: 1,
      devices: DEVICES.map(({ adr: _a, datr: _d, ...d }) => d),
    };
    const start = async (port: number) => {
      driver = createLorawanDriver({ ...config, port });
      await driver.start(ctx);
    };
    const dev = (id: string) => sim.devices.get(id)!;
    /** Sends an uplink and waits until the driver has handled it. */
    const uplink = async (id: string, opts: { confirmed?: boolean } = {}) => {
      const n = driver.status().uplinks;
      dev(id).uplink({ fPort: 1, bytes: cayenne, ...opts });
      await waitFor(`uplink of ${id} handled`, () => driver.status().uplinks === n + 1);
    };

    beforeAll(async () => {
      ctx = createRecordingContext();
      await start(0);
      sim = await startLorawanSimulation({
        serverPort: driver.port(),
        gatewayEuis: GATEWAYS,
        devices: DEVICES,
        keepaliveMs: 500,
        // The gateway puts the downlink on the air at once, stamped with the tmst the server asked
        // for, so the device still checks RX1/RX2 timing without the test waiting a second each time.
        ignoreTxTiming: true,
      });
      await waitFor('PULL_ACKs', () => sim.gateways.every((g) => g.stats.pullAcks > 0));
    }, 30_000);

    afterAll(async () => {
      await sim?.stop();
      await driver?.stop();
      ctx?.cleanup();
    });

    it('answers a LinkCheckReq in FOpts with the margin over SF7’s floor and the gateway count', async () => {
      const d = dev('mac-1');
      d.requestLinkCheck();
      d.uplink({ fPort: 1, bytes: cayenne });
      await waitFor('LinkCheckAns', () => d.downlinks.length === 1);
      // Best SNR 9 dB (gateway 1), SF7 demodulates down to -7.5 dB: margin trunc(16.5) = 16.
      expect(d.downlinks[0]!.mac).toEqual([{ cid: 'LinkCheckAns', margin: 16, gwCnt: 2 }]);
      expect(d.downlinks[0]!.fPort).toBeNull();
      expect(d.downlinks[0]!.fOpts.toString('hex')).toBe('021002');
    });

    it('answers a LinkCheckReq sent as an FPort 0 FRMPayload (encrypted with NwkSKey)', async () => {
      const d = dev('mac-2');
      d.requestLinkCheck();
      d.uplinkMac();
      await waitFor('LinkCheckAns to FPort 0', () => d.downlinks.length === 1);
      expect(d.downlinks[0]!.mac).toEqual([{ cid: 'LinkCheckAns', margin: 16, gwCnt: 2 }]);
      expect(driver.status().errors.mac_malformed).toBeUndefined();
    });

    it('DevStatusReq by command; battery and margin come back as readings (answer in FOpts and on FPort 0)', async () => {
      const d = dev('mac-1');
      const before = d.downlinks.length;
      await expect(
        driver.command!({ id: 'ds-1', device: 'mac-1', action: 'dev-status', params: {} }),
      ).resolves.toEqual({ queued: true });
      await uplink('mac-1');
      await waitFor('DevStatusReq', () => d.downlinks.length === before + 1);
      expect(d.downlinks.at(-1)!.mac).toEqual([{ cid: 'DevStatusReq' }]);
      await uplink('mac-1'); // carries the DevStatusAns in FOpts
      await waitFor('DevStatusAns readings', () =>
        ctx.readings.some((r) => r.device === 'mac-1' && r.metric === 'link_margin'),
      );
      expect(ctx.readings.find((r) => r.device === 'mac-1' && r.metric === 'battery')).toMatchObject({
        value: 78.7, // 200 / 254
        unit: '%',
      });
      expect(ctx.readings.find((r) => r.device === 'mac-1' && r.metric === 'link_margin')).toMatchObject({
        value: 7,
        unit: 'dB',
      });
      // The same answer as an FPort 0 frame of its own.
      const d2 = dev('mac-2');
      await driver.command!({ id: 'ds-2', device: 'mac-2', action: 'dev-status', params: {} });
      const b2 = d2.downlinks.length;
      await uplink('mac-2');
      await waitFor('DevStatusReq to mac-2', () => d2.downlinks.length === b2 + 1);
      d2.uplinkMac();
      await waitFor('DevStatusAns on FPort 0', () =>
        ctx.readings.some((r) => r.device === 'mac-2' && r.metric === 'link_margin'),
      );
    });

    it('ADR: an SF12 device with 9 dB SNR is moved to SF7 by LinkADRReq and acknowledges it', async () => {
      const d = dev('mac-3');
      expect(d.datr()).toBe('SF12BW125');
      await uplink('mac-3');
      await waitFor('LinkADRReq', () => d.downlinks.length === 1);
      // ChirpStack's default: 9 - (-20) - 10 = 19 dB → 6 steps: DR0→DR5, then one TX power step.
      expect(d.downlinks[0]!.mac).toEqual([
        { cid: 'LinkADRReq', dataRate: 5, txPower: 1, chMask: 0xffff, chMaskCntl: 6, nbTrans: 1 },
      ]);
      expect(d.datr()).toBe('SF7BW125');
      await uplink('mac-3'); // at SF7, with LinkADRAns 0x07 in FOpts
      await waitFor('ADR applied', () =>
        ctx.logs.some((l) => l.msg === 'lorawan: ADR applied by the device'),
      );
      // Still 9 dB over SF7's floor with 10 dB to spare: two more steps, as TX power (index 1 → 3).
      await waitFor('second LinkADRReq', () => d.downlinks.length === 2);
      expect(d.downlinks[1]!.mac).toMatchObject([{ cid: 'LinkADRReq', dataRate: 5, txPower: 3 }]);
      expect(driver.status().errors.mac_link_adr_rejected).toBeUndefined();
    });

    it('a confirmed downlink lost on the air once is sent again with the next uplink, then acknowledged', async () => {
      const d = dev('mac-4');
      await driver.command!({
        id: 'conf-1',
        device: 'mac-4',
        action: 'downlink',
        params: { fPort: 9, payloadHex: 'beef', confirmed: true },
      });
      sim.radio.loseNextDownlinks(1);
      await uplink('mac-4');
      await waitFor('first transmission lost', () => sim.radio.downlinksLost() === 1);
      expect(d.downlinks).toHaveLength(0);
      await uplink('mac-4'); // no ACK bit: the driver resends
      await waitFor('retransmission received', () => d.downlinks.length === 1);
      expect(d.downlinks[0]).toMatchObject({ confirmed: true, fPort: 9 });
      expect(d.downlinks[0]!.payload.toString('hex')).toBe('beef');
      expect(driver.status().retransmissions).toBe(1);
      await uplink('mac-4'); // carries the ACK
      await waitFor('ACK counted', () => driver.status().downlinksAcked === 1);
      expect(driver.status().downlinksFailed).toBe(0);
    });

    it('a confirmed downlink never acknowledged is reported failed with a code after its retries', async () => {
      await driver.command!({
        id: 'conf-2',
        device: 'mac-5',
        action: 'downlink',
        params: { fPort: 9, payloadHex: '01', confirmed: true },
      });
      sim.radio.loseNextDownlinks(2);
      const lost = sim.radio.downlinksLost();
      await uplink('mac-5');
      await waitFor('first send lost', () => sim.radio.downlinksLost() === lost + 1);
      await uplink('mac-5');
      await waitFor('retry lost', () => sim.radio.downlinksLost() === lost + 2);
      await uplink('mac-5');
      await waitFor('failure event', () => ctx.events.some((e) => e.type === 'downlink_failed'));
      expect(ctx.events.find((e) => e.type === 'downlink_failed')).toMatchObject({
        device: 'mac-5',
        data: { code: 'downlink_not_acked', commandId: 'conf-2', attempts: 2 },
      });
      expect(ctx.errorCount('downlink_not_acked')).toBe(1);
      expect(driver.status().downlinksFailed).toBe(1);
    });

    it('an ABP counter reset by command is audited (log and event), then the device’s FCnt 0 is taken', async () => {
      const d = dev('mac-6');
      await uplink('mac-6');
      await uplink('mac-6');
      d.setFCntUp(0); // the device lost its counter (battery change)
      // FCnt 0 below the stored 1 reads as a 16-bit rollover (FCnt 65536), whose MIC fails: blocked.
      const refused = () => ctx.errorCount('mic_invalid') + ctx.errorCount('fcnt_replay');
      const before = refused();
      d.uplink({ fPort: 1, bytes: cayenne });
      await waitFor('FCnt 0 refused', () => refused() === before + 1);
      await expect(
        driver.command!({ id: 'rst-0', device: 'mac-6', action: 'reset-frame-counter', params: {} }),
      ).rejects.toMatchObject({ code: 'bad_command', message: expect.stringMatching(/by/) });
      await expect(
        driver.command!({
          id: 'rst-1',
          device: 'mac-6',
          action: 'reset-frame-counter',
          params: { by: 'officer-li', reason: 'battery change' },
        }),
      ).resolves.toEqual({ reset: true, oldFCntUp: 1, oldFCntDown: 0 });
      const ev = ctx.events.find((e) => e.type === 'fcnt_reset');
      expect(ev).toMatchObject({
        device: 'mac-6',
        severity: 'warning',
        data: {
          by: 'officer-li',
          reason: 'battery change',
          commandId: 'rst-1',
          oldFCntUp: 1,
          newFCntUp: -1,
          newFCntDown: 0,
        },
      });
      expect(typeof ev!.data.at).toBe('number');
      const log = ctx.logs.find((l) => l.msg === 'lorawan: ABP frame counters reset by command');
      expect(log?.obj).toMatchObject({ deviceId: 'mac-6', by: 'officer-li', oldFCntUp: 1, newFCntUp: -1 });
      d.setFCntUp(0);
      await uplink('mac-6');
    });

    it('queued downlinks, a confirmed one in flight and MAC requests survive driver restarts on the same data dir', async () => {
      const d = dev('mac-4');
      const restart = async () => {
        const port = driver.port();
        await driver.stop();
        await start(port);
        await waitFor(
          'gateway routes back',
          () => driver.status().gateways.filter((g) => g.pullAddress).length === 2,
        );
      };
      await driver.command!({
        id: 'keep-1',
        device: 'mac-4',
        action: 'downlink',
        params: { fPort: 3, payloadHex: 'a1', confirmed: true },
      });
      await restart();
      const before = d.downlinks.length;
      await uplink('mac-4');
      await waitFor('queued frame after restart', () => d.downlinks.length === before + 1);
      expect(d.downlinks.at(-1)).toMatchObject({ fPort: 3, confirmed: true });
      expect(d.downlinks.at(-1)!.payload.toString('hex')).toBe('a1');
      // Restart while keep-1 waits for its ACK, with a MAC request queued beside it.
      await driver.command!({ id: 'keep-2', device: 'mac-4', action: 'dev-status', params: {} });
      await restart();
      await uplink('mac-4'); // carries the ACK of keep-1
      await waitFor('DevStatusReq after restart', () => d.downlinks.length === before + 2);
      expect(d.downlinks.at(-1)!.mac).toEqual([{ cid: 'DevStatusReq' }]);
      expect(driver.status()).toMatchObject({ downlinksAcked: 1, retransmissions: 0 });
    });
  },
);

describe('LoRaWAN periodic DevStatusReq (devStatusIntervalMs)', { timeout: 20_000 }, () => {
  let ctx: RecordingContext;
  let driver: LorawanDriver;
  let sim: LorawanSimulation;
  const device = abp(9);

  beforeAll(async () => {
    ctx = createRecordingContext();
    driver = createLorawanDriver({
      port: 0,
      bind: '127.0.0.1',
      gateways: [{ eui: GATEWAYS[0]! }],
      dedupWindowMs: 50,
      devStatusIntervalMs: 3_600_000,
      devices: [device],
    });
    await driver.start(ctx);
    sim = await startLorawanSimulation({
      serverPort: driver.port(),
      gatewayEuis: [GATEWAYS[0]!],
      devices: [{ ...device, battery: 0 }],
      keepaliveMs: 500,
      ignoreTxTiming: true,
    });
    await waitFor('PULL_ACK', () => sim.gateways[0]!.stats.pullAcks > 0);
  });

  afterAll(async () => {
    await sim?.stop();
    await driver?.stop();
    ctx?.cleanup();
  });

  it('asks once per interval; an externally powered device reports external_power', async () => {
    const d = sim.devices.get(device.id)!;
    const send = async (confirmed = false) => {
      const n = driver.status().uplinks;
      d.uplink({ fPort: 1, bytes: cayenne, confirmed });
      await waitFor('uplink handled', () => driver.status().uplinks === n + 1);
    };
    await send();
    await waitFor('first DevStatusReq', () => d.downlinks.length === 1);
    expect(d.downlinks[0]!.mac).toEqual([{ cid: 'DevStatusReq' }]);
    await send(); // the answer
    await waitFor('DevStatusAns', () => ctx.readings.some((r) => r.metric === 'external_power'));
    expect(ctx.readings.find((r) => r.metric === 'external_power')).toMatchObject({ value: true });
    expect(ctx.readings.some((r) => r.metric === 'battery' && r.device === device.id)).toBe(false);
    // Within the hour: a confirmed uplink gets its ACK, without a second DevStatusReq.
    await send(true);
    await waitFor('ACK', () => d.downlinks.length === 2);
    expect(d.downlinks[1]).toMatchObject({ ack: true, mac: [] });
  });
});
