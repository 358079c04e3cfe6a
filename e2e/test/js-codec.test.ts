import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool, waitFor } from '@village/test-kit';
import { encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/**
 * Codecs as data, end to end (issue 18): a vendor's JavaScript codec is added as a file beside
 * the built village-edge's config (nothing rebuilt), a device speaking real CoAP (libcoap's
 * coap-client-notls) sends uplinks, and the decoded readings arrive at village-cloud. A second
 * vendor codec loops forever or allocates without bound: it is stopped, refused with its code,
 * counted in /metrics and logged, and the first device is served throughout.
 */
const TANK = { imei: '860000000000301', key: '0123456789abcdef0123456789abcdef' };
const BAD = { imei: '860000000000302', key: 'fedcba9876543210fedcba9876543210' };

// A water tank level sensor the project has never heard of: its codec is these lines of JavaScript.
const TANK_JS = `
// ACME tank sensor: 0-1 level in mm (big-endian), 2 temperature in 0.5 °C steps (signed).
function decodeUplink(input) {
  const b = input.bytes;
  if (b.length !== 3) return { errors: ['acme-tank: ' + b.length + ' bytes, 3 expected'] };
  const t = b[2] > 127 ? b[2] - 256 : b[2];
  return { data: { level_mm: (b[0] << 8) | b[1], water_temperature: t / 2, overflow: ((b[0] << 8) | b[1]) > 1800 } };
}
`;
const TANK_PROFILE = `
name: acme-tank
transport: nbiot
codec: { file: acme-tank.js }
metrics:
  - { name: tank_level, unit: mm, field: level_mm }
  - { name: water_temperature, unit: °C }
events:
  - { when: overflow, type: tank_overflow, severity: warning }
`;
const RUNAWAY_JS = `
function decodeUplink(input) {
  if (input.bytes[0] === 1) for (;;) {}
  if (input.bytes[0] === 2) { const hoard = []; for (;;) hoard.push({ n: hoard.length, more: [hoard.length] }); }
  return { data: { level: input.bytes[0] } };
}
`;
const RUNAWAY_PROFILE = `
name: runaway
transport: nbiot
codec: { file: runaway.js, timeoutMs: 500, memoryBytes: 1048576 }
metrics: [{ name: level, unit: cm }]
`;

describe('a JavaScript codec added as a file: libcoap device → built village-edge → village-cloud', () => {
  let v: Village;
  let port = 0;
  let n = 0;
  const counters = new Map<string, number>();

  beforeAll(async () => {
    v = await createVillage('js-codec');
    const profiles = join(v.dir, 'edge', 'profiles');
    mkdirSync(profiles, { recursive: true });
    writeFileSync(join(profiles, 'acme-tank.js'), TANK_JS);
    writeFileSync(join(profiles, 'acme-tank.yaml'), TANK_PROFILE);
    writeFileSync(join(profiles, 'runaway.js'), RUNAWAY_JS);
    writeFileSync(join(profiles, 'runaway.yaml'), RUNAWAY_PROFILE);
    await v.startCloud();
    const edge = await v.startEdge([
      {
        kind: 'nbiot',
        id: 'nbiot',
        port: 0,
        bind: '127.0.0.1',
        devices: [
          { id: 'tank-1', ...TANK, codecProfile: 'profiles/acme-tank.yaml' },
          { id: 'bad-1', ...BAD, codecProfile: 'profiles/runaway.yaml' },
        ],
      },
    ]);
    port = (await edge.line((l) => l.msg === 'nbiot: CoAP server listening')).port as number;
  });
  afterAll(() => v.cleanup());

  /** The uplink envelope as docs/nbiot-device-guide.md specifies it, posted with coap-client-notls. */
  async function post(dev: typeof TANK, payload: number[]): Promise<string> {
    const c = (counters.get(dev.imei) ?? 0) + 1;
    counters.set(dev.imei, c);
    const p = Buffer.from(payload);
    const m = createHmac('sha256', Buffer.from(dev.key, 'hex'))
      .update(`${dev.imei}|${c}|||`)
      .update(p)
      .digest();
    const file = join(v.dir, `up-${++n}.cbor`);
    writeFileSync(file, encode({ c, p, m: m.subarray(0, 8) }));
    const r = await runTool('coap-client-notls', [
      '-m',
      'post',
      '-t',
      '60',
      '-f',
      file,
      '-B',
      '30',
      `coap://127.0.0.1:${port}/t/${dev.imei}`,
    ]);
    return `${r.stdout}${r.stderr}`;
  }
  const tankLevels = () =>
    v
      .query<{ value: number }>(
        "SELECT r.value FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'tank-1' AND s.metric = 'tank_level' ORDER BY r.ts",
      )
      .map((r) => r.value);

  it('the uplinks arrive decoded by the JavaScript codec, with units, and its overflow flag as an event', async () => {
    expect(await post(TANK, [0x04, 0xd2, 0xf1])).not.toMatch(/[45]\.\d\d/);
    await waitFor('the decoded tank level in the cloud', () => tankLevels().join() === '1234');
    const temp = v.query<{ value: number; unit: string }>(
      "SELECT r.value, s.unit FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'tank-1' AND s.metric = 'water_temperature'",
    );
    expect(temp).toEqual([{ value: -7.5, unit: '°C' }]);
    expect(await post(TANK, [0x07, 0x6c, 0x10])).not.toMatch(/[45]\.\d\d/);
    await waitFor('the overflow event in the cloud', () => {
      const e = v.query("SELECT * FROM events WHERE device = 'tank-1' AND type = 'tank_overflow'");
      return e.length === 1 && tankLevels().join() === '1234,1900';
    });
  });

  for (const [what, byte, code] of [
    ['loops forever', 1, 'js_codec_timeout'],
    ['allocates without bound', 2, 'js_codec_memory'],
  ] as const) {
    it(`a codec that ${what} is stopped and reported (${code}); the other device is still served`, async () => {
      const before = tankLevels().length;
      expect(await post(BAD, [byte])).toMatch(/4\.00/);
      await waitFor('the codec fault in the edge log', () =>
        v.edge!.lines.some(
          (l) =>
            l.msg === 'nbiot: uplink refused' && String(l.detail).startsWith(`payload: ${code}: runaway:`),
        ),
      );
      const metrics = await v.edgeMetrics();
      expect(metrics.get('edge_driver_errors_total{driver="nbiot",reason="nbiot_codec_error"}')).toBe(byte);
      expect(await post(TANK, [0x01, 0x00 + byte, 0x20])).not.toMatch(/[45]\.\d\d/);
      await waitFor('the next tank reading in the cloud', () => tankLevels().length === before + 1);
      expect(await post(BAD, [42])).not.toMatch(/[45]\.\d\d/);
      await waitFor("the bad codec's next good frame in the cloud", () => {
        const r = v.query<{ value: number }>(
          "SELECT r.value FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'bad-1' ORDER BY r.ts",
        );
        return r.length === byte && r.at(-1)!.value === 42;
      });
    });
  }

  it("a command the vendor's codec refuses keeps the driver's error code through cmd-result to the cloud API", async () => {
    // acme-tank.js has no encodeDownlink: the NB-IoT driver refuses with its typed command_rejected.
    const sent = await v.api<{ command: { id: string } }>('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'tank-1', action: 'set_interval', params: { minutes: 5 } }),
    });
    expect(sent.status).toBe(202);
    const done = await waitFor('the refused command in the cloud', async () => {
      const { body } = await v.api<{ command: { state: string; error: string; errorCode: string } }>(
        `/api/v1/commands/${sent.body.command.id}`,
      );
      return body.command.state === 'error' ? body.command : undefined;
    });
    expect(done.errorCode).toBe('command_rejected');
    expect(done.error).toMatch(/no encodeDownlink in .*acme-tank\.js/);
  });
});
