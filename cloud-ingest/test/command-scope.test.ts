import { LIMITS } from '@village/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Officer } from './auth-cloud.js';
import { type BinCloud, startBinCloud } from './http-bin-cloud.js';

// Issue 13 finding 1: commands are scoped like every other route (role, village), carry the actor,
// and are bounded by the edge's own limit. Against the built bin on loopback.
describe('POST/GET /api/v1/commands are scoped (built bin)', { timeout: 60_000 }, () => {
  let t: BinCloud;
  const cookies = {} as Record<Officer, string>;
  beforeAll(async () => {
    t = await startBinCloud();
    for (const who of ['admin', 'county', 'town1', 'villageA', 'villageB'] as const)
      cookies[who] = await t.cookie(who);
  }, 60_000);
  afterAll(() => t?.stop(), 30_000);

  const send = (who: Officer, body: unknown) =>
    fetch(`${t.base}/api/v1/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookies[who] },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (who: Officer, id: string) =>
    fetch(`${t.base}/api/v1/commands/${id}`, { headers: { cookie: cookies[who] } });

  it('a village officer switches a siren of their own village, not of another (404, like unknown)', async () => {
    const other = await send('villageA', { device: 'siren-b', action: 'on' });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('unknown_device');

    const own = await send('villageA', { device: 'siren-a', action: 'on' });
    expect(own.status).toBe(202);
    const { command } = (await own.json()) as { command: { id: string; actor: string; edge: string } };
    expect(command).toMatchObject({ actor: 'villageA', edge: 'edge-a' });
    expect(t.logs()).toContainEqual(
      expect.objectContaining({ msg: 'command sent', actor: 'villageA', id: command.id, device: 'siren-a' }),
    );
  });

  it('town and county officers may not send commands (403 naming the allowed roles)', async () => {
    for (const who of ['town1', 'county'] as const) {
      const res = await send(who, { device: 'siren-a', action: 'on' });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'admin, village',
      );
    }
  });

  it('GET /commands/:id answers only within the scope; the actor is stored', async () => {
    const res = await send('admin', { device: 'siren-b', action: 'on' });
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: { id: string } };
    expect((await get('villageA', command.id)).status).toBe(404);
    const mine = await get('villageB', command.id);
    expect(mine.status).toBe(200);
    expect(((await mine.json()) as { command: { actor: string } }).command.actor).toBe('admin');
    expect((await get('town1', command.id)).status).toBe(200);
  });

  it('params are bounded by the edge limit: 300 KB → 413; just under the body limit but over the edge limit → 413', async () => {
    const big = await send('admin', {
      device: 'siren-a',
      action: 'set',
      params: { text: 'x'.repeat(300_000) },
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('body_too_large');

    const head = '{"device":"siren-a","action":"set","params":{"text":"';
    const tail = '"}}';
    const filler = 'y'.repeat(LIMITS.maxControlBytes - 30 - head.length - tail.length);
    const edgeSized = await send('admin', head + filler + tail);
    expect(edgeSized.status).toBe(413);
    const err = ((await edgeSized.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('command_too_large');
    expect(err.message).toContain(String(LIMITS.maxControlBytes));
  });
});
