import { waitFor } from '@village/test-kit';
import { describe, expect, it } from 'vitest';
import { type Reception, createDeduplicator } from '../src/lorawan/dedup.js';
import { createGatewayRegistry } from '../src/lorawan/gateway-registry.js';
import { REGIONS } from '../src/lorawan/region.js';
import { planDownlink } from '../src/lorawan/rx-window.js';
import { parseDatagram, parsePushData } from '../src/lorawan/semtech-udp.js';

const reception = (over: Partial<Reception> = {}): Reception => ({
  gatewayEui: 'aa555a0000000001',
  tmst: 0xfff00000,
  freqMHz: 470.9,
  datr: 'SF9BW125',
  rssi: -80,
  snr: 5,
  heardAt: 0,
  ...over,
});

describe('receive-window planning', () => {
  it('uses RX1 while reachable, then RX2, then gives up; tmst wraps at 2^32', () => {
    const r = reception();
    const rx1 = planDownlink(REGIONS.CN470, r, 'data', 300, 100)!;
    expect(rx1.window).toBe('rx1');
    expect(rx1.txpk).toMatchObject({
      tmst: (0xfff00000 + 1_000_000) % 2 ** 32,
      freq: 500.9,
      datr: 'SF9BW125',
      ipol: true,
      imme: false,
    });
    const rx2 = planDownlink(REGIONS.CN470, r, 'data', 950, 100)!;
    expect(rx2.window).toBe('rx2');
    expect(rx2.txpk).toMatchObject({
      freq: 505.3,
      datr: 'SF12BW125',
      tmst: (0xfff00000 + 2_000_000) % 2 ** 32,
    });
    expect(planDownlink(REGIONS.CN470, r, 'data', 1950, 100)).toBeUndefined();
    // Joins: JOIN_ACCEPT_DELAY1/2 = 5/6 s.
    expect(planDownlink(REGIONS.EU868, reception({ freqMHz: 868.3 }), 'join', 4000, 100)?.txpk).toMatchObject(
      {
        tmst: (0xfff00000 + 5_000_000) % 2 ** 32,
        freq: 868.3,
      },
    );
    expect(planDownlink(REGIONS.EU868, r, 'join', 5500, 100)?.txpk).toMatchObject({
      freq: 869.525,
      datr: 'SF12BW125',
    });
  });
});

describe('gateway registry', () => {
  it('refuses unknown gateways unless allowed, and records last seen', () => {
    const strict = createGatewayRegistry([{ eui: 'AA555A0000000001' }], false);
    const a = strict.admit('aa555a0000000001', '10.0.0.1', 1000);
    expect(a.ok && a.gateway.lastSeen).toBe(1000);
    expect(strict.admit('0000000000000bad', '10.0.0.1', 1000)).toEqual({
      ok: false,
      reason: 'gateway_unknown',
    });
    expect(strict.list()).toHaveLength(1);
    const open = createGatewayRegistry([], true);
    const b = open.admit('0000000000000bad', '10.0.0.1', 5);
    expect(b.ok && b.gateway.eui).toBe('0000000000000bad');
    const fenced = createGatewayRegistry(
      [{ eui: 'aa555a0000000001', allowedSources: ['192.168.1.0/24', '10.0.0.7'] }],
      false,
    );
    expect(fenced.admit('aa555a0000000001', '192.168.1.77', 1).ok).toBe(true);
    expect(fenced.admit('aa555a0000000001', '10.0.0.7', 1).ok).toBe(true);
    expect(fenced.admit('aa555a0000000001', '10.0.0.8', 1)).toEqual({
      ok: false,
      reason: 'gateway_source_refused',
    });
    expect(fenced.admit('aa555a0000000001', '192.168.2.1', 1)).toEqual({
      ok: false,
      reason: 'gateway_source_refused',
    });
  });
});

describe('Semtech UDP parsing', () => {
  it('parses headers and refuses short, foreign-version and unknown datagrams with typed errors', () => {
    const eui = Buffer.from('0102030405060708', 'hex');
    expect(parseDatagram(Buffer.concat([Buffer.from([2, 0x12, 0x34, 2]), eui]))).toEqual({
      version: 2,
      type: 'PULL_DATA',
      token: 0x1234,
      gatewayEui: '0102030405060708',
    });
    expect(() => parseDatagram(Buffer.from([2, 0]))).toThrow(/udp_malformed/);
    expect(() => parseDatagram(Buffer.from([3, 0, 0, 0]))).toThrow(/udp_unknown_version/);
    expect(() => parseDatagram(Buffer.from([0, 0, 0, 0]))).toThrow(/udp_unknown_version/);
    expect(() => parseDatagram(Buffer.from([2, 0, 0, 9]))).toThrow(/udp_unknown_type/);
    expect(() => parseDatagram(Buffer.from([2, 0, 0, 0, 1, 2]))).toThrow(/gateway EUI/);
    expect(() => parsePushData(Buffer.from('{"rxpk":'))).toThrow(/push_data_bad_json/);
    expect(() => parsePushData(Buffer.from('{"rxpk":5}'))).toThrow(/wrong shape/);
    expect(parsePushData(Buffer.from('{"stat":{"rxnb":3}}'))).toEqual({ rxpk: [], stat: { rxnb: 3 } });
  });
});

describe('dedup window', () => {
  it('merges copies from different gateways once each, and hands the frame over once', async () => {
    const frames: Reception[][] = [];
    const d = createDeduplicator(30, 2, (_phy, rs) => frames.push(rs));
    const phy = Buffer.from('0102', 'hex');
    expect(d.add(phy, reception())).toBe('opened');
    expect(d.add(phy, reception())).toBe('merged'); // same gateway twice: kept once
    expect(d.add(phy, reception({ gatewayEui: 'aa555a0000000002' }))).toBe('merged');
    expect(d.add(Buffer.from('03', 'hex'), reception())).toBe('opened');
    expect(d.add(Buffer.from('04', 'hex'), reception())).toBe('overflow');
    await waitFor('both windows closed', () => frames.length === 2, { timeoutMs: 5000 });
    expect(frames[0]!.map((r) => r.gatewayEui)).toEqual(['aa555a0000000001', 'aa555a0000000002']);
    d.close();
  });
});
