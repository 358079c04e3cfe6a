import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TcpSimulator, startTcpSimulator } from '../src/modbus/index.js';

const run = promisify(execFile);

/** mbpoll prints one `[register]: \tvalue` line per register read. */
function parseMbpoll(stdout: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

// Interop: Debian's mbpoll, a Modbus master we did not write, reads our TCP simulator.
describe('mbpoll reads the Modbus TCP simulator', () => {
  let sim: TcpSimulator;
  beforeAll(async () => {
    sim = await startTcpSimulator({
      slaves: [
        { unitId: 1, profile: loadProfileFile(shippedProfilePath('pm25-sensor')) },
        { unitId: 2, profile: loadProfileFile(shippedProfilePath('siren-relay')) },
      ],
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('reads holding registers with the values the profile encodes', { timeout: 30_000 }, async () => {
    const pm = sim.slaves.get(1)!.image;
    pm.set('pm2_5', 35);
    pm.set('pm10', 71);
    pm.set('humidity', 55.5);
    pm.set('temperature', -3.2);
    // -r is 1-based in mbpoll (register 1 = PDU address 0); -t 4 is holding registers, -0 is off.
    const { stdout } = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(sim.port), '-a', '1', '-t', '4', '-r', '1', '-c', '4', '-1', '127.0.0.1'],
      { timeout: 20_000 },
    );
    const regs = parseMbpoll(stdout);
    expect([regs.get(1), regs.get(2), regs.get(3), regs.get(4)]).toEqual([35, 71, 555, 65536 - 32]);
  });

  it('reads coils from a second unit id on the same server', { timeout: 30_000 }, async () => {
    sim.slaves.get(2)!.image.set('strobe', true);
    const { stdout } = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(sim.port), '-a', '2', '-t', '0', '-r', '1', '-c', '4', '-1', '127.0.0.1'],
      { timeout: 20_000 },
    );
    const coils = parseMbpoll(stdout);
    expect([coils.get(1), coils.get(2), coils.get(3), coils.get(4)]).toEqual([0, 1, 0, 0]);
  });

  it('writes a coil that the simulator then holds', { timeout: 30_000 }, async () => {
    await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(sim.port), '-a', '2', '-t', '0', '-r', '1', '127.0.0.1', '1'],
      { timeout: 20_000 },
    );
    expect(sim.slaves.get(2)!.image.get('siren')).toBe(true);
  });

  it('reports the exception the simulator answers with', { timeout: 30_000 }, async () => {
    sim.slaves.get(1)!.fault = { type: 'exception', code: 2 };
    const err = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(sim.port), '-a', '1', '-t', '4', '-r', '1', '-c', '2', '-1', '127.0.0.1'],
      { timeout: 20_000 },
    ).then(
      () => undefined,
      (e: { stdout: string; stderr: string }) => e,
    );
    sim.slaves.get(1)!.fault = { type: 'none' };
    expect(err).toBeDefined();
    expect(`${err!.stdout}${err!.stderr}`).toMatch(/Illegal data address/i);
  });
});
