import { setTimeout as sleep } from 'node:timers/promises';
import type { Reading } from '@village/protocol';
import type { DriverContext } from '../driver.js';
import { QueueClosedError } from './frame-queue.js';
import { type RequestFailure, classifyFailure } from './modbus-errors.js';
import type { ModbusLink } from './modbus-link.js';
import type { ReadRequest } from './poll-plan.js';
import type { Profile, ProfilePoint } from './profile-schema.js';
import { decodeRaw, toPhysical, wordCount } from './register-codec.js';

export interface PolledDevice {
  id: string;
  unitId: number;
  /** Poll period, ms. */
  intervalMs: number;
  profile: Profile;
  plan: ReadRequest[];
}

export interface RetryPolicy {
  /** Extra attempts after a request that got no usable answer. */
  retries: number;
  /** First wait before a retry, ms; doubles per attempt. */
  backoffMs: number;
  /** Longest wait before a retry, ms. */
  maxBackoffMs: number;
}

type Outcome = { ok: true; data: number[] | boolean[] } | { ok: false; failure: RequestFailure };

/**
 * Polls one device at a fixed rate until `signal` aborts. A poll cycle is one link session, so
 * the other devices on the bus wait for at most one cycle; a request that gets no usable answer
 * ends the session (the device is likely gone, so its other requests would only hold the bus),
 * and the requests left are retried in a new session after a backoff spent outside the queue,
 * while the other devices are served. A device that is offline gets a single attempt per cycle.
 */
export async function runDevicePoller(
  device: PolledDevice,
  link: ModbusLink,
  ctx: DriverContext,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<void> {
  let state: 'unknown' | 'online' | 'offline' = 'unknown';

  const failed = (req: ReadRequest | undefined, attempt: number, err: unknown): RequestFailure => {
    // Without a request the port itself could not be opened (missing device, locked, refused).
    const failure: RequestFailure = req
      ? classifyFailure(err)
      : { kind: 'port_closed', message: classifyFailure(err).message };
    ctx.countError(`modbus_${failure.kind}`);
    ctx.log.warn(
      {
        device: device.id,
        unitId: device.unitId,
        table: req?.table,
        start: req?.start,
        count: req?.count,
        attempt,
        reason: failure.kind,
        error: failure.message,
      },
      'modbus request failed',
    );
    return failure;
  };

  /** Reads the plan; returns each request's outcome and the last failure that got no answer. */
  const readPlan = async () => {
    const outcomes = new Map<ReadRequest, Outcome>();
    let pending = device.plan;
    let lastFailure: RequestFailure | undefined;
    const attempts = state === 'offline' ? 1 : 1 + policy.retries;
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        await sleep(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1)), undefined, {
          signal,
        });
      }
      try {
        lastFailure = await link.session(device.unitId, async (io) => {
          for (const req of pending) {
            try {
              outcomes.set(req, { ok: true, data: await io.read(req.table, req.start, req.count) });
            } catch (err) {
              if (err instanceof QueueClosedError || signal.aborted) throw err;
              const failure = failed(req, attempt, err);
              // An exception is an answer: asking again gets the same one, so it is not retried.
              if (failure.kind !== 'exception') return failure;
              outcomes.set(req, { ok: false, failure });
            }
          }
          return undefined;
        });
      } catch (err) {
        if (err instanceof QueueClosedError || signal.aborted) throw err;
        lastFailure = failed(undefined, attempt, err); // the port could not be opened
      }
      pending = pending.filter((r) => !outcomes.has(r));
    }
    return { outcomes, lastFailure };
  };

  const pollOnce = async () => {
    const ts = ctx.now();
    const { outcomes, lastFailure } = await readPlan();
    const readings: Reading[] = [];
    for (const [req, outcome] of outcomes) {
      for (const p of req.points) {
        readings.push(
          outcome.ok
            ? decodePoint(device, p, req, outcome.data, ts, ctx)
            : badReading(device, p, ts, outcome.failure.message),
        );
      }
    }
    if (outcomes.size > 0) {
      if (state === 'offline') {
        await ctx.emitEvent({
          device: device.id,
          type: 'online',
          severity: 'info',
          ts,
          data: { unitId: device.unitId },
        });
      }
      state = 'online';
    } else if (state !== 'offline') {
      state = 'offline';
      await ctx.emitEvent({
        device: device.id,
        type: 'offline',
        severity: 'warning',
        ts,
        data: {
          unitId: device.unitId,
          reason: lastFailure?.kind ?? 'other',
          error: lastFailure?.message ?? null,
        },
      });
    }
    if (readings.length > 0) await ctx.emitReadings(readings);
  };

  // Fixed rate on the monotonic clock: a slow cycle delays the next one, never bunches them.
  let due = performance.now();
  while (!signal.aborted) {
    try {
      await pollOnce();
    } catch (err) {
      if (signal.aborted || err instanceof QueueClosedError) return;
      ctx.fail(err as Error); // emit* rejected: the outbox cannot store
      return;
    }
    due += device.intervalMs;
    const now = performance.now();
    if (due < now) due = now;
    try {
      await sleep(due - now, undefined, { signal });
    } catch {
      return;
    }
  }
}

function decodePoint(
  device: PolledDevice,
  p: ProfilePoint,
  req: ReadRequest,
  data: number[] | boolean[],
  ts: number,
  ctx: DriverContext,
): Reading {
  const at = p.address - req.start;
  const base = { device: device.id, metric: p.metric ?? p.name, unit: p.unit, ts };
  if (p.type === 'bit') return { ...base, value: Boolean(data[at]), quality: 'good' };
  const words = (data as number[]).slice(at, at + wordCount(p.type));
  if (words.length !== wordCount(p.type)) {
    ctx.countError('modbus_short_reply');
    return badReading(device, p, ts, 'SHORT_REPLY');
  }
  const value = toPhysical(decodeRaw(words, p.type, p.order), p.type, p.scale, p.offset);
  if (!Number.isFinite(value)) {
    // IEEE NaN/Inf is how many sensors say "no measurement yet"; a Reading value must be finite.
    ctx.countError('modbus_not_finite');
    return badReading(device, p, ts, String(value));
  }
  return { ...base, value, quality: 'good' };
}

/** A bad reading carries the reason (e.g. the exception name) as its value, so it shows where it hurts. */
function badReading(device: PolledDevice, p: ProfilePoint, ts: number, reason: string): Reading {
  return { device: device.id, metric: p.metric ?? p.name, unit: p.unit, ts, value: reason, quality: 'bad' };
}
