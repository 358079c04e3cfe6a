import { createHash } from 'node:crypto';
import { type Ack, encodeBatch } from '@village/protocol';
import { fetchMetrics, waitFor } from '@village/test-kit';
import { Encoder } from 'cbor-x';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScopedCloud } from './auth-cloud.js';
import {
  T0,
  type TestCloud,
  collectAcks,
  makeBatch,
  publishBatch,
  startTestCloud,
  waitForAck,
} from './cloud-fixture.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
/** The wire map of a batch whose `rt` column holds a string: an encoder that disagrees with the decoder. */
const undecodable = (seq: number) =>
  cbor.encode({
    v: 1,
    e: 'edge-1',
    s: seq,
    b: 1,
    c: T0,
    h: false,
    d: ['pm-1'],
    m: ['pm25'],
    u: ['ug'],
    k: [0, 0, 0],
    t0: T0,
    rs: [0],
    rt: ['soon'],
    rx: [1],
    rp: [0],
  });

interface Letter {
  id: number;
  kind: string;
  edge: string;
  seq: number | null;
  reason: string;
  count: number;
  state: string;
  size: number;
}

describe('dead letters: a batch the cloud cannot decode (real cloud, real MQTT edge client)', () => {
  let t: TestCloud;
  let edge: MqttClient;
  let acks: Ack[];
  const api = async <B>(path: string, init?: RequestInit) => {
    const r = await fetch(`http://127.0.0.1:${t.cloud.httpPort}${path}`, init);
    return { status: r.status, body: (await r.json()) as B };
  };
  const metric = async (reason: string) => {
    const m = await fetchMetrics(`http://127.0.0.1:${t.cloud.httpPort}/metrics`);
    const key = [...m.keys()].find(
      (k) => k.startsWith('cloud_dead_letters_total{') && k.includes(`reason="${reason}"`),
    );
    return key === undefined ? 0 : m.get(key)!;
  };

  beforeAll(async () => {
    t = await startTestCloud();
    edge = await t.connectEdge('edge-1');
    acks = await collectAcks(edge, 'edge-1');
  }, 60_000);
  afterAll(() => t?.stop());

  it('is rejected in an ack (the edge moves on), kept with its bytes, counted and listed', async () => {
    const bytes = undecodable(7);
    await publishBatch(edge, 'edge-1', bytes);
    const ack = await waitFor('a rejection of seq 7', () =>
      acks.find((a) => a.rejected.some((r) => r.seq === 7)),
    );
    expect(ack.acked).toEqual([]);
    expect(ack.rejected[0]!.reason).toMatch(/undecodable \(bad_type\), dead letter \d+: rt\[0\]/);

    const list = await api<{ deadLetters: Letter[] }>('/api/v1/dead-letters?state=open');
    expect(list.status).toBe(200);
    expect(list.body.deadLetters).toEqual([
      expect.objectContaining({
        kind: 'batch',
        edge: 'edge-1',
        seq: 7,
        reason: 'bad_type',
        count: 1,
        state: 'open',
        size: bytes.length,
      }),
    ]);
    const id = list.body.deadLetters[0]!.id;
    const one = await api<{ deadLetter: Letter & { bytes: string } }>(`/api/v1/dead-letters/${id}`);
    expect(Buffer.from(one.body.deadLetter.bytes, 'base64').equals(Buffer.from(bytes))).toBe(true);
    expect(await metric('bad_type')).toBe(1);

    // A resend of the very bytes (the rejection crossed it) is the same letter, counted twice, rejected again.
    await publishBatch(edge, 'edge-1', bytes);
    await waitFor(
      'a second rejection of seq 7',
      () => acks.filter((a) => a.rejected.some((r) => r.seq === 7)).length === 2,
    );
    const again = await api<{ deadLetters: Letter[] }>('/api/v1/dead-letters');
    expect(again.body.deadLetters.map((l) => [l.id, l.count])).toEqual([[id, 2]]);
    expect(await metric('bad_type')).toBe(1);

    // Still undecodable: a re-drive says so and leaves it open.
    const still = await api<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, {
      method: 'POST',
    });
    expect([still.status, still.body.error.code]).toEqual([409, 'still_failing']);

    // The good batch beside it is stored and acked as ever.
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 8, 3));
    await waitForAck(acks, 8);
  });

  it('bytes that are not even CBOR are kept too, with no seq to reject', async () => {
    const junk = Buffer.from([0xff, 0x00, 0x13, 0x37]);
    await publishBatch(edge, 'edge-1', junk);
    const letter = await waitFor(
      'the not_cbor dead letter',
      async () =>
        (await api<{ deadLetters: Letter[] }>('/api/v1/dead-letters?reason=not_cbor')).body.deadLetters[0],
    );
    expect(letter).toMatchObject({ kind: 'batch', edge: 'edge-1', seq: null, size: junk.length });
    expect(await metric('not_cbor')).toBe(1);
  });

  it('a re-drive stores a letter the decoder now takes, once', async () => {
    // A letter an older cloud kept (its decoder refused what this one takes): the bytes of a good batch.
    const good = encodeBatch(makeBatch('edge-1', 20, 5, {}, T0 + 3_600_000));
    const { lastInsertRowid } = t.cloud.db
      .prepare(
        `INSERT INTO dead_letters (kind, edge, seq, reason, detail, bytes, digest, received_at, last_at, size)
         VALUES ('batch', 'edge-1', 20, 'bad_shape', 'older decoder', ?, ?, 1, 1, ?)`,
      )
      .run(Buffer.from(good), createHash('sha256').update(good).digest('hex'), good.length);
    const id = Number(lastInsertRowid);
    const r = await api<{ deadLetter: Letter; outcome: string }>(`/api/v1/dead-letters/${id}/redrive`, {
      method: 'POST',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'committed', deadLetter: { id, state: 'redriven' } });
    const stored = t.cloud.db
      .prepare('SELECT COUNT(*) AS n FROM readings WHERE ts >= ? AND ts < ?')
      .get(T0 + 3_600_000, T0 + 3_600_000 + 5_000) as { n: number };
    expect(stored.n).toBe(5);
    const twice = await api<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, {
      method: 'POST',
    });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'already_redriven']);
    const missing = await api<{ error: { code: string } }>('/api/v1/dead-letters/999999/redrive', {
      method: 'POST',
    });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'unknown_dead_letter']);
  });
}, 60_000);

describe('dead letters are for admins only (logins on)', () => {
  let s: Awaited<ReturnType<typeof startScopedCloud>>;
  beforeAll(async () => {
    s = await startScopedCloud();
  }, 60_000);
  afterAll(() => s?.stop());

  it('403 for a county officer, 401 without a session, 200 for the admin', async () => {
    expect((await s.get('/api/v1/dead-letters')).status).toBe(401);
    const county = await s.get('/api/v1/dead-letters', await s.login('county'));
    expect([county.status, (county.body.error as { code: string }).code]).toEqual([403, 'forbidden']);
    const admin = await s.get('/api/v1/dead-letters', await s.login('admin'));
    expect([admin.status, admin.body.deadLetters]).toEqual([200, []]);
  });
}, 60_000);
