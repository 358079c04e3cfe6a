import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import type { DeviceEvent } from '@village/protocol';
import type { Logger } from '@village/service-kit';
// Test-only: the simulators are the devices on the wire (src never imports them).
import { type TcpSimulator, createNbiotDevice, startTcpSimulator } from '@village/simulators';
import { fetchMetrics, freePort, startWebhookReceiver, waitFor } from '@village/test-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type EdgeAgent, startEdgeAgent } from '../src/agent.js';
import { loadEdgeConfig } from '../src/config.js';
import { loadDriverKinds } from '../src/driver-kinds.js';
import { outboxContents } from './local-rules-outbox.js';

/**
 * Edge-local rules end to end inside one edge, with the cloud unreachable (edge.yaml points at a
 * closed port). The edge runs in-process (startEdgeAgent, the same call the bin makes) with the
 * real Modbus driver over TCP to the Modbus simulator (siren-relay at unit 1, pm25-sensor at
 * unit 2) and the real NB-IoT driver receiving CoAP from the wristband simulator; the webhook is
 * a real HTTP server. Nothing is mocked.
 */
const IMEI = '861000000000077';
const KEY = 'a1'.repeat(16);
const SECRET = 'siren-hook-secret';
const SIREN = 0; // coil addresses in device-drivers/profiles/siren-relay.yaml
const STROBE = 1;

let dir: string;
let sim: TcpSimulator;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let agent: EdgeAgent;
const logs: Record<string, unknown>[] = [];

/** A port nothing listens on: free a moment ago. */
const closedPort = freePort;

const metrics = () => fetchMetrics(`http://127.0.0.1:${agent.healthPort}/metrics`);

const coilWrites = (address: number) =>
  sim.slaves.get(1)!.writes.filter((w) => w.table === 'coil' && w.address === address);
const localActions = (rule: string): DeviceEvent[] =>
  outboxContents(join(dir, 'data', 'outbox.db')).events.filter(
    (e) => e.type === 'local_action' && e.data.rule === rule,
  );
let wristband: ReturnType<typeof createNbiotDevice<'wristband'>>;
const report = (flags: { sos?: boolean; fall?: boolean }) =>
  wristband.report({
    worn: true,
    fall: false,
    sos: false,
    heart_rate: 72,
    spo2: 97,
    steps: 100,
    battery: 80,
    ...flags,
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-local-rules-'));
  const profile = (name: string) => loadProfileFile(shippedProfilePath(name));
  sim = await startTcpSimulator({
    slaves: [
      { unitId: 1, profile: profile('siren-relay') },
      { unitId: 2, profile: profile('pm25-sensor') },
    ],
  });
  hook = await startWebhookReceiver(SECRET, { failFirst: 1 });
  const siren = (point: string, value: boolean) => ({
    command: { device: 'siren-1', action: 'write', params: { point, value } },
    backoffMs: 50,
  });
  const configPath = join(dir, 'edge.yaml');
  writeFileSync(
    configPath,
    stringify({
      edgeId: 'edge-9',
      cloud: { url: `mqtt://127.0.0.1:${await closedPort()}`, password: 'unused', reconnectMinMs: 100 },
      outbox: { batchMaxAgeMs: 100, synchronous: 'normal' },
      health: { host: '127.0.0.1', port: 0 },
      drivers: [
        {
          kind: 'modbus',
          id: 'relay-bus',
          transport: { type: 'tcp', host: '127.0.0.1', port: sim.port },
          timeoutMs: 500,
          retries: 1,
          backoffMs: 50,
          devices: [
            { id: 'siren-1', unitId: 1, profile: 'siren-relay', intervalMs: 200 },
            { id: 'pm-1', unitId: 2, profile: 'pm25-sensor', intervalMs: 100 },
          ],
        },
        {
          kind: 'nbiot',
          id: 'nbiot',
          port: 0,
          bind: '127.0.0.1',
          devices: [{ id: 'band-1', imei: IMEI, key: KEY, codec: 'wristband' }],
        },
      ],
      localRules: [
        {
          id: 'sos-siren',
          trigger: { events: ['sos'], devices: ['band-1'], cooldownMs: 60_000 },
          actions: [siren('siren', true), { webhook: { url: hook.url, secret: SECRET }, backoffMs: 50 }],
        },
        {
          id: 'pm-strobe',
          trigger: { metric: 'pm2_5', above: 250, clearBelow: 200 },
          actions: [siren('strobe', true)],
          clearActions: [siren('strobe', false)],
        },
        {
          id: 'fall-broken',
          trigger: { events: ['fall'] },
          actions: [
            {
              command: { device: 'ghost-1', action: 'write', params: { point: 'siren', value: true } },
              maxAttempts: 2,
              backoffMs: 50,
            },
            {
              webhook: { url: `http://127.0.0.1:${await closedPort()}/hook` },
              maxAttempts: 2,
              backoffMs: 50,
            },
          ],
        },
      ],
    }),
  );
  const kinds = await loadDriverKinds(['modbus', 'nbiot']);
  const cfg = loadEdgeConfig(configPath, kinds);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) logs.push(JSON.parse(l));
      done();
    },
  });
  agent = await startEdgeAgent(cfg, kinds, pino({ level: 'info' }, sink) as unknown as Logger);
  const coapPort = (
    await waitFor('the CoAP server', () => logs.find((l) => l.msg === 'nbiot: CoAP server listening'))
  ).port as number;
  wristband = createNbiotDevice({
    host: '127.0.0.1',
    port: coapPort,
    imei: IMEI,
    keyHex: KEY,
    codec: 'wristband',
  });
  await waitFor(
    'the relay module polled',
    () => sim.slaves.get(1)!.requests > 0 && sim.slaves.get(2)!.requests > 0,
  );
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  await hook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('edge-local rules, cloud unreachable', () => {
  it('an SOS switches the siren coil once per cooldown and calls the signed webhook, retrying a 500', async () => {
    expect((await metrics()).get('edge_uplink_connected')).toBe(0);
    expect(sim.slaves.get(1)!.image.get('siren')).toBe(false);
    expect((await report({ sos: true })).code).toBe('2.04');
    await waitFor('the siren coil on', () => sim.slaves.get(1)!.image.get('siren') === true, {
      timeoutMs: 20_000,
    });

    // The band keeps pressing: each SOS is stored (and judged before its 2.04), none sounds the siren again.
    for (let i = 0; i < 4; i++) expect((await report({ sos: true })).code).toBe('2.04');
    await waitFor('the webhook', () => hook.got.length > 0, { timeoutMs: 20_000 });
    await waitFor('both outcomes stored', () => localActions('sos-siren').length === 2, {
      timeoutMs: 20_000,
    });
    const sosStored = outboxContents(join(dir, 'data', 'outbox.db')).events.filter((e) => e.type === 'sos');
    expect(sosStored).toHaveLength(5);
    expect(coilWrites(SIREN)).toEqual([{ table: 'coil', address: SIREN, values: [true] }]);

    const m = await metrics();
    expect(m.get('edge_local_rule_firings_total{rule="sos-siren",phase="raise"}')).toBe(1);
    expect(m.get('edge_local_rule_actions_total{rule="sos-siren",result="ok"}')).toBe(2);
    expect(m.get('edge_uplink_connected')).toBe(0);

    expect(hook.refused).toBe(1);
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]!.signed).toBe(true);
    expect(hook.got[0]!.body).toMatchObject({
      type: 'local_rule',
      edgeId: 'edge-9',
      rule: 'sos-siren',
      device: 'band-1',
      cause: { event: 'sos' },
    });
    expect(hook.got[0]!.delivery).toBe(hook.got[0]!.body.delivery);

    // The outcomes wait in the outbox's event lane for the uplink, as events of the edge itself.
    const byAction = Object.fromEntries(localActions('sos-siren').map((e) => [e.data.action, e]));
    expect(byAction.command).toMatchObject({
      device: 'edge-9',
      severity: 'info',
      data: { ok: true, target: 'siren-1', trigger: 'sos', source: 'band-1', attempts: 1 },
    });
    expect(byAction.webhook).toMatchObject({ severity: 'info', data: { ok: true, attempts: 2 } });
  }, 60_000);

  it('a pm2_5 value hovering on the line switches the strobe once; clearing re-arms it', async () => {
    const pm = sim.slaves.get(2)!.image;
    let after = 0;
    const stored = (value: number) =>
      waitFor(`pm2_5 ${value} stored`, () => {
        const r = outboxContents(join(dir, 'data', 'outbox.db')).readings.find(
          (x) => x.device === 'pm-1' && x.metric === 'pm2_5' && x.value === value && x.ts > after,
        );
        if (r) after = r.ts;
        return r;
      });
    for (const value of [251, 249, 252, 230, 260, 201, 255]) {
      pm.set('pm2_5', value);
      await stored(value);
    }
    await waitFor('the strobe on', () => sim.slaves.get(1)!.image.get('strobe') === true, {
      timeoutMs: 20_000,
    });
    let m = await metrics();
    expect(m.get('edge_local_rule_firings_total{rule="pm-strobe",phase="raise"}')).toBe(1);
    expect(m.get('edge_local_rule_firings_total{rule="pm-strobe",phase="clear"}')).toBeUndefined();
    expect(coilWrites(STROBE)).toHaveLength(1);

    pm.set('pm2_5', 150);
    await stored(150);
    await waitFor('the strobe off', () => sim.slaves.get(1)!.image.get('strobe') === false, {
      timeoutMs: 20_000,
    });
    pm.set('pm2_5', 300);
    await stored(300);
    await waitFor('the strobe on again', () => coilWrites(STROBE).length === 3, { timeoutMs: 20_000 });
    expect(coilWrites(STROBE).map((w) => w.values[0])).toEqual([true, false, true]);
    m = await metrics();
    expect(m.get('edge_local_rule_firings_total{rule="pm-strobe",phase="raise"}')).toBe(2);
    expect(m.get('edge_local_rule_firings_total{rule="pm-strobe",phase="clear"}')).toBe(1);
    await waitFor('three strobe outcomes stored', () => localActions('pm-strobe').length === 3, {
      timeoutMs: 20_000,
    });
    expect(localActions('pm-strobe').every((e) => e.data.ok === true && e.data.trigger === 'pm2_5')).toBe(
      true,
    );
  }, 60_000);

  it('a failing action is retried, counted, logged and reported as a local_action warning', async () => {
    expect((await report({ fall: true })).code).toBe('2.04');
    const failed = await waitFor('both failures stored', () => {
      const l = localActions('fall-broken');
      return l.length === 2 ? l : undefined;
    });
    const byAction = Object.fromEntries(failed.map((e) => [e.data.action, e]));
    expect(byAction.command).toMatchObject({
      severity: 'warning',
      data: { ok: false, attempts: 2, target: 'ghost-1', error: 'no driver serves device ghost-1' },
    });
    expect(byAction.webhook).toMatchObject({ severity: 'warning', data: { ok: false, attempts: 2 } });
    expect(String(byAction.webhook!.data.error)).toMatch(/ECONNREFUSED/);
    const m = await metrics();
    expect(m.get('edge_local_rule_actions_total{rule="fall-broken",result="error"}')).toBe(2);
    expect(logs.filter((l) => l.msg === 'local rule action failed' && l.rule === 'fall-broken')).toHaveLength(
      2,
    );
    // The agent and its other rules go on: the siren still answers, readings still flow.
    const before = outboxContents(join(dir, 'data', 'outbox.db')).readings.length;
    await waitFor(
      'readings still stored',
      () => outboxContents(join(dir, 'data', 'outbox.db')).readings.length > before,
    );
  }, 60_000);
});
