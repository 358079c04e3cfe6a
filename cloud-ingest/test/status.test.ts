import { type Status, encodeJson, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestCloud, counterValue, startTestCloud } from './cloud-fixture.js';

const birth = (boot: number): Status => ({
  state: 'online',
  edgeId: 'edge-1',
  boot,
  ts: Date.UTC(2026, 0, 1) + boot,
  version: '0.1.0',
  devices: [
    { id: 'wb-1', kind: 'wristband', driver: 'lorawan', metrics: [{ name: 'heart_rate', unit: 'bpm' }] },
    { id: 'pm-1', kind: 'air-quality', driver: 'modbus', metrics: [{ name: 'pm25', unit: 'µg/m³' }] },
  ],
});

describe('edge birth and death', { timeout: 60_000 }, () => {
  let t: TestCloud;
  beforeEach(async () => {
    t = await startTestCloud();
  });
  afterEach(async () => {
    await t.stop();
  });

  const edge1 = () => t.cloud.registry.edges().find((e) => e.id === 'edge-1')!;
  const statusCount = (labels: Record<string, string>) =>
    counterValue(t.cloud.metrics.statusMessages, labels);

  it('a birth marks the edge online with its boot and records its device inventory at its station', async () => {
    const c = await t.connectEdge('edge-1');
    await c.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth(3))), {
      qos: 1,
      retain: true,
    });
    await waitFor('edge online', () => edge1().online);
    expect(edge1()).toMatchObject({ boot: 3, lastBirthTs: Date.UTC(2026, 0, 1) + 3, version: '0.1.0' });
    const wb = t.cloud.registry.devices().find((d) => d.id === 'wb-1');
    expect(wb).toMatchObject({
      kind: 'wristband',
      driver: 'lorawan',
      edge: 'edge-1',
      station: 's1',
      village: 'v1',
    });
    expect(wb?.metrics).toEqual([{ name: 'heart_rate', unit: 'bpm' }]);
    await c.endAsync();
  });

  it('ignores a stale death (older boot) and applies the death of the current boot', async () => {
    const c = await t.connectEdge('edge-1');
    await c.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth(5))), { qos: 1 });
    await waitFor('edge online', () => edge1().online);
    const death = (boot: number) => Buffer.from(encodeJson({ state: 'offline', edgeId: 'edge-1', boot }));
    await c.publishAsync(topics.status('edge-1'), death(4), { qos: 1 });
    await waitFor(
      'stale death',
      async () => (await statusCount({ state: 'offline', result: 'stale' })) === 1,
    );
    expect(edge1().online).toBe(true);
    expect(t.logs.some((l) => l.msg === 'stale edge death ignored' && l.boot === 4)).toBe(true);
    await c.publishAsync(topics.status('edge-1'), death(5), { qos: 1 });
    await waitFor('edge offline', () => !edge1().online);
    expect(await statusCount({ state: 'offline', result: 'applied' })).toBe(1);
    await c.endAsync();
  });

  it('ignores the will and the birth of an older session of the same boot (bdSeq): the edge moved to another broker', async () => {
    const c = await t.connectEdge('edge-1');
    const status = (s: object) =>
      c.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(s as Status)), { qos: 1 });
    const will = (bdSeq: number) => ({ state: 'offline', edgeId: 'edge-1', boot: 7, bdSeq });
    await status({ ...birth(7), bdSeq: 2 });
    await waitFor('edge online', () => edge1().online);
    // Session 1's broker noticed late that the edge left it: its will arrives after session 2's birth.
    await status(will(1));
    await waitFor('stale will', async () => (await statusCount({ state: 'offline', result: 'stale' })) === 1);
    expect(edge1().online).toBe(true);
    expect(t.logs.some((l) => l.msg === 'stale edge death ignored' && l.bdSeq === 1)).toBe(true);
    // Session 1's retained birth, read again from that broker, does not take the edge back either.
    await status({ ...birth(7), bdSeq: 1 });
    await waitFor('stale birth', async () => (await statusCount({ state: 'online', result: 'stale' })) === 1);
    // Session 3's will (this host never saw its birth) ends it; then session 2's birth is stale.
    await status(will(3));
    await waitFor('edge offline', () => !edge1().online);
    await status({ ...birth(7), bdSeq: 2 });
    await waitFor('stale birth', async () => (await statusCount({ state: 'online', result: 'stale' })) === 2);
    expect(edge1().online).toBe(false);
    // A new boot starts its sessions again from 1.
    await status({ ...birth(8), bdSeq: 1 });
    await waitFor('edge online, new boot', () => edge1().online && edge1().boot === 8);
    await c.endAsync();
  });

  it('the last will (offline, same boot) marks the edge offline when the connection drops', async () => {
    const c = await t.connectEdge('edge-1', {
      will: {
        topic: topics.status('edge-1'),
        payload: Buffer.from(encodeJson({ state: 'offline', edgeId: 'edge-1', boot: 2 })),
        qos: 1,
        retain: true,
      },
    });
    await c.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth(2))), {
      qos: 1,
      retain: true,
    });
    await waitFor('edge online', () => edge1().online);
    c.stream.destroy(); // an unclean drop: the broker publishes the will
    await waitFor('edge offline by will', () => !edge1().online);
    c.end(true);
  });

  it('counts and logs a malformed status, and keeps going', async () => {
    const c = await t.connectEdge('edge-1');
    await c.publishAsync(topics.status('edge-1'), Buffer.from('{"state":'), { qos: 1 });
    await c.publishAsync(
      topics.status('edge-1'),
      Buffer.from(encodeJson({ ...birth(1), edgeId: 'edge-2' })),
      { qos: 1 },
    );
    await c.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth(1))), { qos: 1 });
    await waitFor('edge online', () => edge1().online);
    expect(await statusCount({ state: 'malformed', result: 'bad_json' })).toBe(1);
    expect(await statusCount({ state: 'malformed', result: 'bad_shape' })).toBe(1);
    expect(t.logs.filter((l) => l.msg === 'malformed status dropped')).toHaveLength(2);
    await c.endAsync();
  });
});
