import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool, waitFor } from '@village/test-kit';
import { decode, encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const IMEI = '860000000000101';
const KEY = '00112233445566778899aabbccddeeff';

/** The uplink body as docs/nbiot-device-guide.md specifies it (built here, not with the driver's code). */
function body(counter: number, payload: Uint8Array, ack?: string): Buffer {
  const m = createHmac('sha256', Buffer.from(KEY, 'hex'))
    .update(`${IMEI}|${counter}|${ack ?? ''}||`)
    .update(payload)
    .digest()
    .subarray(0, 8);
  return encode({ c: counter, p: Buffer.from(payload), m, ...(ack ? { a: ack } : {}) });
}

/** Smoke detector payload (docs): flags, density ×0.01 dB/m, temperature ×0.1 °C, battery %. */
const smoke = (alarm: boolean, density: number, tempC: number, battery: number) =>
  Uint8Array.from([alarm ? 1 : 0, density >> 8, density & 0xff, (tempC >> 8) & 0xff, tempC & 0xff, battery]);

describe('NB-IoT: libcoap client → edge → cloud', () => {
  let v: Village;
  let port = 0;
  let n = 0;
  let counter = 1;
  beforeAll(async () => {
    v = await createVillage('nbiot');
    await v.startCloud();
    const edge = await v.startEdge([
      {
        kind: 'nbiot',
        id: 'nbiot',
        port: 0,
        bind: '127.0.0.1',
        devices: [{ id: 'smoke-1', imei: IMEI, key: KEY, codec: 'smoke-detector' }],
      },
    ]);
    port = (await edge.line((l) => l.msg === 'nbiot: CoAP server listening')).port as number;
  });
  afterAll(() => v.cleanup());

  /** Posts with coap-client-notls (content-format 60 = application/cbor); returns its output and the answer payload. */
  async function post(b: Buffer) {
    const inFile = join(v.dir, `up-${++n}.cbor`);
    const outFile = join(v.dir, `down-${n}.cbor`);
    writeFileSync(inFile, b);
    writeFileSync(outFile, '');
    const r = await runTool('coap-client-notls', [
      '-m',
      'post',
      '-t',
      '60',
      '-f',
      inFile,
      '-o',
      outFile,
      '-B',
      '15',
      `coap://127.0.0.1:${port}/t/${IMEI}`,
    ]);
    return { ...r, answer: readFileSync(outFile) };
  }

  it('a CBOR uplink is stored in the cloud; a replay is refused; a command rides on the next answer and is confirmed', async () => {
    const first = await post(body(1, smoke(true, 320, 415, 87)));
    expect(first.code).toBe(0);
    expect(first.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
    await waitFor('the smoke reading and alarm in the cloud', () => {
      const r = v.query<{ value: number }>(
        "SELECT r.value FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'smoke-1' AND s.metric = 'smoke_density'",
      );
      const e = v.query("SELECT * FROM events WHERE device = 'smoke-1' AND type = 'smoke'");
      return r.length === 1 && r[0]!.value === 3.2 && e.length === 1;
    });

    // The same datagram again (same counter): refused, nothing stored twice.
    const replay = await post(body(1, smoke(true, 320, 415, 87)));
    expect(`${replay.stdout}${replay.stderr}`).toMatch(/4\.03/);

    // A command from the cloud API waits for the device's next uplink.
    const sent = await v.api<{ command: { id: string } }>('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'smoke-1', action: 'self_test', params: {} }),
    });
    expect(sent.status).toBe(202);
    const second = await waitFor('the command to ride on an answer', async () => {
      const r = await post(body(++counter, smoke(false, 10, 200, 86)));
      return r.answer.length > 0 ? r : undefined;
    });
    const down = decode(second.answer) as { i: string; d: Uint8Array };
    expect(down.i).toBeTruthy();
    expect(Buffer.from(down.d).toString('hex')).toBe('02'); // self_test per the documented codec
    const pending = await v.api<{ command: { state: string } }>(`/api/v1/commands/${sent.body.command.id}`);
    expect(pending.body.command.state).toBe('sent'); // not done until the device confirms
    await post(body(++counter, smoke(false, 10, 200, 86), down.i));
    await waitFor('the confirmed command in the cloud', async () => {
      const { body: b } = await v.api<{ command: { state: string } }>(
        `/api/v1/commands/${sent.body.command.id}`,
      );
      return b.command.state === 'ok';
    });
    const events = v.query("SELECT * FROM events WHERE device = 'smoke-1' AND type = 'smoke'");
    expect(events).toHaveLength(1);
  });
});
