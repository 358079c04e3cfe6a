import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
// The simulators are the real peer here: a Semtech UDP gateway and LoRaWAN end devices building
// encrypted frames with lora-packet, over a real UDP socket on 127.0.0.1. They are imported from
// source because device-drivers does not depend on the simulators package.
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EndDeviceConfig,
  type LorawanSimulation,
  startLorawanSimulation,
} from '../../simulators/src/lorawan/index.js';
import { LORAWAN_CODECS } from '../src/codecs/index.js';
import {
  type LorawanConfigInput,
  type LorawanDriver,
  type UplinkRecord,
  createLorawanDriver,
} from '../src/lorawan/index.js';
import { type RecordingContext, createRecordingContext } from './lorawan-fixtures/recording-context.js';

const GATEWAYS = ['aa555a0000000001', 'aa555a0000000002', 'aa555a0000000003'];
const CODECS = ['cayenne', 'wristband', 'lora-pm25'] as const;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

const abpDevices = Array.from({ length: 50 }, (_, i) => ({
  id: `lora-${i + 1}`,
  devEui: `70b3d57ed000${hex(i + 1, 4)}`,
  codec: CODECS[i % 3]!,
  activation: 'abp' as const,
  devAddr: `0100${hex(i + 1, 4)}`,
  nwkSKey: `${hex(i + 1, 4)}${'2b7e151628aed2a6abf7'}${hex(i + 1, 8)}`,
  appSKey: `${hex(i + 1, 4)}${'3c4fcf098815f7aba6d2'}${hex(i + 1, 8)}`,
}));
const otaaDevice = {
  id: 'band-otaa',
  devEui: '70b3d57ed00100ff',
  codec: 'wristband' as const,
  activation: 'otaa' as const,
  appEui: '70b3d57ed0000001',
  appKey: '000102030405060708090a0b0c0d0e0f',
};

const driverConfig: LorawanConfigInput = {
  port: 0,
  bind: '127.0.0.1',
  gateways: GATEWAYS.map((eui) => ({ eui })),
  region: 'CN470',
  dedupWindowMs: 400, // generous for a loaded CI machine; RX1 (1 s) stays reachable
  devices: [...abpDevices, otaaDevice],
};

describe('LoRaWAN driver with simulated gateways and devices over UDP', () => {
  let ctx: RecordingContext;
  let driver: LorawanDriver;
  let sim: LorawanSimulation;
  let uplinks: UplinkRecord[];
  const startDriver = async (port: number) => {
    driver = createLorawanDriver({ ...driverConfig, port }, { onUplink: (u) => uplinks.push(u) });
    await driver.start(ctx);
  };

  beforeAll(async () => {
    ctx = createRecordingContext();
    uplinks = [];
    await startDriver(0);
    const simDevices: (EndDeviceConfig & { codec: (typeof CODECS)[number] })[] = [
      ...abpDevices,
      {
        id: otaaDevice.id,
        devEui: otaaDevice.devEui,
        codec: 'wristband',
        activation: 'otaa',
        appEui: otaaDevice.appEui,
        appKey: otaaDevice.appKey,
      },
    ];
    sim = await startLorawanSimulation({
      serverPort: driver.port(),
      gatewayEuis: GATEWAYS,
      devices: simDevices,
      keepaliveMs: 1000,
    });
    // Downlinks need each gateway's PULL_DATA route.
    await waitFor('PULL_ACK for every gateway', () => sim.gateways.every((g) => g.stats.pullAcks > 0));
  }, 30_000);

  afterAll(async () => {
    await sim?.stop();
    await driver?.stop();
    ctx?.cleanup();
  });

  it('decodes every uplink of 50 devices once, merging the 3 gateways’ copies with 3 RSSI/SNR entries', async () => {
    for (const d of abpDevices) sim.sendSample(d.id);
    for (const d of abpDevices) sim.sendSample(d.id);
    await waitFor('100 uplinks', () => uplinks.length >= 100, { timeoutMs: 30_000 });
    // Let any stray duplicate arrive past the dedup window before counting.
    await waitFor('status', () => driver.status().uplinks === 100 && ctx.readings.length > 0);
    const keys = uplinks.map((u) => `${u.deviceId}/${u.fCnt}`);
    expect(new Set(keys).size).toBe(100);
    for (const d of abpDevices) {
      expect(uplinks.filter((u) => u.deviceId === d.id).map((u) => u.fCnt)).toEqual([0, 1]);
    }
    for (const u of uplinks) {
      expect(u.receptions.map((r) => r.gatewayEui).sort()).toEqual(GATEWAYS);
      expect(new Set(u.receptions.map((r) => r.rssi)).size).toBe(3);
      expect(u.receptions.every((r) => Number.isFinite(r.snr))).toBe(true);
      expect(u.data).not.toBeNull();
    }
    expect(driver.status().duplicatesMerged).toBe(200);
    // Readings: each codec's metrics, once per uplink, plus the best gateway's link quality.
    for (const d of abpDevices) {
      const mine = ctx.readings.filter((r) => r.device === d.id);
      const firstMetric = LORAWAN_CODECS[d.codec].metrics[0]!.name;
      const metric = d.codec === 'cayenne' ? 'temperature_1' : firstMetric;
      expect(mine.filter((r) => r.metric === metric)).toHaveLength(2);
      expect(mine.filter((r) => r.metric === 'gateways').map((r) => r.value)).toEqual([3, 3]);
      expect(mine.find((r) => r.metric === 'rssi')?.value).toBe(
        Math.max(...uplinks[0]!.receptions.map((r) => r.rssi)),
      );
    }
    const pm = ctx.readings.find((r) => r.device === 'lora-3' && r.metric === 'pm2_5');
    expect(pm?.unit).toBe('µg/m³');
    const hr = ctx.readings.find((r) => r.device === 'lora-2' && r.metric === 'heart_rate');
    expect(hr?.unit).toBe('bpm');
    // Gateway registry: all three seen, with their stat reports.
    const gws = driver.status().gateways;
    expect(gws.map((g) => g.eui).sort()).toEqual(GATEWAYS);
    for (const g of gws) {
      expect(g.rxpkReceived).toBeGreaterThanOrEqual(100);
      expect(g.lastStat?.rxnb).toBeGreaterThanOrEqual(0);
      expect(g.pullAddress?.address).toBe('127.0.0.1');
    }
    expect(sim.gateways.every((g) => g.stats.pushAcks >= g.stats.pushData)).toBe(true);
  }, 60_000);

  it('drops and counts a replayed frame, then handles the next good one', async () => {
    const device = sim.devices.get('lora-1')!;
    const before = uplinks.length;
    const { phy } = sim.sendSample('lora-1');
    await waitFor('fresh uplink', () => uplinks.length === before + 1);
    device.transmitRaw(phy);
    await waitFor('replay counted', () => ctx.errorCount('fcnt_replay') === 1);
    expect(ctx.logs.some((l) => (l.obj as { reason?: string }).reason === 'fcnt_replay')).toBe(true);
    sim.sendSample('lora-1');
    await waitFor('uplink after replay', () => uplinks.length === before + 2);
    expect(uplinks.at(-1)!.fCnt).toBe(3);
  }, 30_000);

  it('answers a confirmed uplink with an ACK carrying the queued downlink, in RX1 on the CN470 downlink channel', async () => {
    const device = sim.devices.get('lora-4')!;
    await expect(
      driver.command!({
        id: 'c1',
        device: 'lora-4',
        action: 'downlink',
        params: { fPort: 7, payloadHex: 'cafe01' },
      }),
    ).resolves.toEqual({ queued: 1 });
    sim.sendSample('lora-4', { confirmed: true });
    // RX1 is 1 s after the uplink; the gateway transmits at that tmst.
    await waitFor('downlink at the device', () => device.downlinks.length === 1, { timeoutMs: 20_000 });
    const dl = device.downlinks[0]!;
    expect(dl.ack).toBe(true);
    expect(dl.fPort).toBe(7);
    expect(dl.payload.toString('hex')).toBe('cafe01');
    expect(dl.window).toBe('rx1');
    expect(dl.freqMHz).toBeGreaterThanOrEqual(500.3);
    expect(dl.freqMHz).toBeLessThanOrEqual(509.7);
    expect(dl.datr).toBe('SF7BW125');
    // Sent through the gateway with the best SNR.
    expect(dl.gatewayEui).toBe(GATEWAYS[0]);
    expect(sim.gateways[0]!.stats.txAcks).toBeGreaterThanOrEqual(1);
    await expect(
      driver.command!({
        id: 'c2',
        device: 'lora-4',
        action: 'downlink',
        params: { fPort: 0, payloadHex: '00' },
      }),
    ).rejects.toThrow(/fPort/);
    await expect(
      driver.command!({
        id: 'c3',
        device: 'lora-4',
        action: 'downlink',
        params: { fPort: 3, payloadHex: 'zz' },
      }),
    ).rejects.toThrow(/payloadHex/);
    await expect(
      driver.command!({ id: 'c4', device: 'nobody', action: 'downlink', params: {} }),
    ).rejects.toThrow(/nobody/);
  }, 30_000);

  it('joins an OTAA wristband (join-accept via PULL_RESP at JOIN_ACCEPT_DELAY1) and raises its fall/sos events', async () => {
    const band = sim.devices.get('band-otaa')!;
    const pullRespsBefore = sim.gateways.reduce((n, g) => n + g.stats.pullResps, 0);
    await band.join(20_000); // the gateway transmits 5 s after the join-request, as a real one would
    expect(band.joined()).toBe(true);
    expect(sim.gateways.reduce((n, g) => n + g.stats.pullResps, 0)).toBe(pullRespsBefore + 1);
    expect(driver.status().joins).toBe(1);
    const enc = LORAWAN_CODECS.wristband.encodeUplink({
      data: {
        heart_rate: 121,
        spo2: 91,
        steps: 2000,
        battery: 40,
        worn: true,
        fall: true,
        sos: true,
        lat: 30.5728,
        lon: 104.0668,
      },
    });
    band.uplink({ fPort: enc.fPort, bytes: enc.bytes });
    await waitFor(
      'fall and sos events',
      () => ctx.events.filter((e) => e.device === 'band-otaa').length === 2,
    );
    const events = ctx.events.filter((e) => e.device === 'band-otaa');
    expect(events.map((e) => e.type).sort()).toEqual(['fall', 'sos']);
    for (const e of events) {
      expect(e.severity).toBe('critical');
      expect(e.data).toEqual({ lat: 30.5728, lon: 104.0668 });
    }
    const hr = ctx.readings.find((r) => r.device === 'band-otaa' && r.metric === 'heart_rate');
    expect(hr).toMatchObject({ value: 121, unit: 'bpm' });
    expect(ctx.readings.find((r) => r.device === 'band-otaa' && r.metric === 'worn')).toMatchObject({
      value: true,
      unit: '',
    });
  }, 40_000);

  it('survives a restart on the same data dir: devices carry on without rejoining, replays stay refused', async () => {
    const band = sim.devices.get('band-otaa')!;
    const lastOfLora1 = sim.sendSample('lora-1').phy;
    await waitFor('uplink before restart', () => uplinks.at(-1)?.deviceId === 'lora-1');
    const port = driver.port();
    await driver.stop();
    const replaysBefore = ctx.errorCount('fcnt_replay');
    const uplinksBefore = uplinks.length;
    await startDriver(port);
    expect(driver.port()).toBe(port);
    await waitFor('gateways back (keepalive)', () => driver.status().gateways.length === 3, {
      timeoutMs: 20_000,
    });
    // Pre-restart frame replayed into the new instance: refused by the persisted counter.
    sim.devices.get('lora-1')!.transmitRaw(lastOfLora1);
    await waitFor('replay after restart', () => ctx.errorCount('fcnt_replay') === replaysBefore + 1);
    for (const d of abpDevices.slice(0, 10)) sim.sendSample(d.id);
    sim.sendSample('band-otaa');
    await waitFor('11 uplinks after restart', () => uplinks.length === uplinksBefore + 11);
    const bandAfter = uplinks.slice(uplinksBefore).find((u) => u.deviceId === 'band-otaa');
    expect(bandAfter?.data).toMatchObject({ worn: true });
    expect(bandAfter?.fCnt).toBe(1); // its session (and counter) from before the restart
    expect(driver.status().joins).toBe(0);
    expect(band.joined()).toBe(true);
  }, 40_000);

  it('counts and logs bad input without crashing, and handles the next good packet', async () => {
    const gw = sim.gateways[1]!;
    const eui = Buffer.from(GATEWAYS[1]!, 'hex');
    const counted = (reason: string) => ctx.errorCount(reason);
    gw.sendRaw(randomBytes(64)); // random bytes: wrong version (or, 1 in 256, unknown type)
    gw.sendRaw(Buffer.from([2, 0x12])); // truncated header
    gw.sendRaw(Buffer.concat([Buffer.from([2, 0, 1, 0]), eui.subarray(0, 3)])); // truncated PUSH_DATA
    gw.sendRaw(Buffer.concat([Buffer.from([2, 0, 2, 0]), eui, Buffer.from('{"rxpk":[{')])); // bad JSON
    gw.sendRaw(Buffer.concat([Buffer.from([2, 0, 3, 0]), eui, Buffer.from('{"rxpk":[{"tmst":"x"}]}')])); // wrong types
    await waitFor(
      'UDP-level errors counted',
      () =>
        counted('udp_unknown_version') + counted('udp_unknown_type') === 1 &&
        counted('udp_malformed') === 2 &&
        counted('push_data_bad_json') === 1 &&
        counted('rxpk_invalid') === 1,
    );
    // Wrong MIC: a real frame with one MIC byte flipped.
    const lora10 = sim.devices.get('lora-10')!; // a cayenne device
    const tampered = lora10.buildUplink({
      fPort: 1,
      bytes: LORAWAN_CODECS.cayenne.encodeUplink({ data: { temperature_1: 20 } }).bytes,
    });
    tampered[tampered.length - 1] ^= 0xff;
    lora10.transmitRaw(tampered);
    // Unknown DevAddr: a device the server has no session for.
    const { createEndDevice } = await import('../../simulators/src/lorawan/index.js');
    const stranger = createEndDevice(
      {
        id: 'x',
        devEui: '0000000000000bad',
        activation: 'abp',
        devAddr: '0badbad0',
        nwkSKey: '11'.repeat(16),
        appSKey: '22'.repeat(16),
      },
      sim.radio,
    );
    stranger.uplink({ fPort: 1, bytes: new Uint8Array([1, 2]) });
    stranger.stop();
    // Unknown gateway: PUSH_DATA from an EUI not configured, from its own socket.
    const rogue = createSocket('udp4');
    await new Promise<void>((r) => rogue.bind(0, '127.0.0.1', () => r()));
    rogue.send(
      Buffer.concat([Buffer.from([2, 0, 9, 0]), Buffer.from('deadbeefdeadbeef', 'hex'), Buffer.from('{}')]),
      driver.port(),
      '127.0.0.1',
    );
    // A codec error: the device's payload does not decode (truncated cayenne record). Counted; the
    // frame counter still advances (the frame was authentic).
    sim.devices.get('lora-7')!.uplink({ fPort: 1, bytes: new Uint8Array([1, 0x67, 0]) });
    await waitFor(
      () => `frame-level errors counted (have ${JSON.stringify([...ctx.errors])})`,
      () =>
        counted('mic_invalid') >= 1 &&
        counted('devaddr_unknown') >= 1 &&
        counted('gateway_unknown') === 1 &&
        counted('codec_error') === 1,
    );
    rogue.close();
    for (const reason of [
      'mic_invalid',
      'devaddr_unknown',
      'gateway_unknown',
      'codec_error',
      'udp_malformed',
    ]) {
      expect(
        ctx.logs.some((l) => l.level === 'warn' && (l.obj as { reason?: string }).reason === reason),
      ).toBe(true);
    }
    expect(ctx.failures).toEqual([]);
    expect(ctx.errorCount('internal')).toBe(0);
    // And the next good packet is handled.
    const n = uplinks.length;
    sim.sendSample('lora-10');
    await waitFor('good uplink after bad input', () => uplinks.length === n + 1);
    // The tampered frame used FCnt k and was refused; the next frame (k+1) is accepted.
    expect(uplinks.at(-1)).toMatchObject({ deviceId: 'lora-10' });
    expect(
      ctx.readings.filter((r) => r.device === 'lora-10' && r.metric === 'temperature_1').at(-1)?.value,
    ).not.toBe(20);
  }, 40_000);
});
