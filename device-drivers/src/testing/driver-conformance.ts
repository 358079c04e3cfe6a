import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Command } from '@village/protocol';
import type { Driver } from '../driver.js';
import type { ConformanceFailure } from './codec-conformance.js';
import { type ConformanceContext, createConformanceContext } from './conformance-context.js';

/** A port the driver listens on, to be bound again after stop. */
export interface ListenPort {
  protocol: 'udp' | 'tcp';
  address: string;
  port: number;
}

/**
 * What a protocol's test supplies so the kit can check its driver generically. Only `create` and
 * `badCommand` are required: a driver that listens on nothing gives no `ports`, a protocol
 * without an acknowledgement gives no `sendUplink`.
 */
export interface DriverHarness {
  name: string;
  create(): Driver;
  /** The ports the started driver opened (bound to port 0, so ask the driver). */
  ports?(driver: Driver): ListenPort[];
  /**
   * Sends one uplink as a device would and resolves true if the device got the protocol's
   * acknowledgement (CoAP 2.04, LoRa ACK), false if it got a refusal or nothing. The frame is a
   * function of `n` alone (its counter grows with `n`): the kit sends n = 1 while the outbox
   * refuses, n = 1 again (the device's retry, to be taken), then after a restart n = 1 again (now
   * a replay, to be refused) and n = 2.
   */
  sendUplink?(driver: Driver, n: number): Promise<boolean>;
  /** A command this driver must refuse (unknown device or action). */
  badCommand: Command;
}

/**
 * Checks what can be checked of any driver: a command it cannot run fails with a typed error
 * whose `code` is a snake_case string; a rejected emit withholds the device's acknowledgement and
 * the device's retry of that same frame is taken and acknowledged once the outbox accepts (nothing
 * lost); a restart on the same data folder resumes state (the frame taken before it is a replay
 * after it, the next one is taken);
 * stop releases every port it opened (each can be bound again at once) and a second stop does
 * not throw. Returns the failures.
 */
export async function driverConformance(h: DriverHarness): Promise<ConformanceFailure[]> {
  const failures: ConformanceFailure[] = [];
  const fail = (check: string, message: string) => failures.push({ check, message: `${h.name}: ${message}` });
  const ctx: ConformanceContext = createConformanceContext();
  const driver = h.create();
  await driver.start(ctx);
  let ports: ListenPort[] = [];
  try {
    ports = h.ports?.(driver) ?? [];
    if (driver.command) {
      const err = await driver.command(h.badCommand).then(
        () => undefined,
        (e: unknown) => e,
      );
      const code = (err as { code?: unknown } | undefined)?.code;
      if (err === undefined) fail('command', `accepted the bad command ${JSON.stringify(h.badCommand)}`);
      else if (typeof code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(code))
        fail(
          'command',
          `refused with ${(err as Error).name ?? 'an error'} without a snake_case code: ${String(err)}`,
        );
    }
    if (h.sendUplink) {
      ctx.rejectEmits = true;
      const ackedWhileRejecting = await h.sendUplink(driver, 1);
      if (ackedWhileRejecting) fail('emit_rejected', 'acknowledged an uplink the outbox refused');
      ctx.rejectEmits = false;
      const before = ctx.readings.length + ctx.events.length;
      const acked = await h.sendUplink(driver, 1);
      if (!acked) fail('emit_rejected', "refused the device's retry of a frame the outbox had refused");
      else if (ctx.readings.length + ctx.events.length === before)
        fail('emit_rejected', 'acknowledged an uplink but emitted nothing');
    }
  } finally {
    await driver.stop();
  }
  if (h.sendUplink) {
    const again = h.create();
    await again.start(ctx);
    try {
      if (await h.sendUplink(again, 1))
        fail('restart_resumes', 'after a restart, accepted a replay of frame 1');
      if (!(await h.sendUplink(again, 2))) fail('restart_resumes', 'after a restart, refused the next frame');
    } finally {
      await again.stop();
    }
  }
  for (const p of ports) {
    const problem = await bindOnce(p);
    if (problem)
      fail('stop_releases_ports', `${p.protocol} ${p.address}:${p.port} still held after stop: ${problem}`);
  }
  try {
    await driver.stop();
  } catch (err) {
    fail('stop_twice', `a second stop threw ${(err as Error).message}`);
  }
  if (ctx.failures.length > 0) fail('no_failures', `ctx.fail called: ${ctx.failures.map(String).join('; ')}`);
  return failures;
}

/** Binds the port once and closes it; undefined when that worked, else the error. */
function bindOnce(p: ListenPort): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (p.protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', (err) => {
        s.close();
        resolve(err.message);
      });
      s.bind(p.port, p.address, () => s.close(() => resolve(undefined)));
      return;
    }
    const srv = createServer();
    srv.once('error', (err) => resolve(err.message));
    srv.listen(p.port, p.address, () => srv.close(() => resolve(undefined)));
  });
}
