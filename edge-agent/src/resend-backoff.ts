/**
 * When the edge resends a batch the cloud has not acked. Past the cloud's capacity a fixed timeout
 * makes every edge resend its whole window each timeout, and the cloud spends its CPU acking
 * duplicates (docs/scaling.md, the fleet section); so each resend of a batch doubles its timeout,
 * up to a cap, and a reconnect starts again from the first timeout (the uplink resends the window
 * once then, as a fresh send). There is no last attempt: a batch is resent until it is acked.
 *
 * Plain data and pure functions, so bench/fleet-edges.mjs imports the same policy from the built
 * dist (edge-agent/dist/resend-backoff.js).
 */

/** Each wait is its base times a factor in [1 - RESEND_JITTER, 1]: edges that sent together drift apart. */
export const RESEND_JITTER = 0.2;

export interface ResendTimer {
  /** The wait without jitter: `ackTimeoutMs`, doubled at each resend, at most the cap. */
  baseMs: number;
  /** The wait until the next resend, jittered; never above the cap. */
  waitMs: number;
}

function jittered(baseMs: number, random: () => number): number {
  return Math.round(baseMs * (1 - RESEND_JITTER * random()));
}

/** The timer of a batch just sent for the first time, or sent again after a reconnect. */
export function firstResendTimer(ackTimeoutMs: number, random: () => number = Math.random): ResendTimer {
  return { baseMs: ackTimeoutMs, waitMs: jittered(ackTimeoutMs, random) };
}

/**
 * The ack round trip as the edge sees it (RFC 6298's SRTT and RTTVAR), so the first resend of a
 * batch waits for longer than the cloud takes to ack now: past the cloud's capacity the ack latency
 * grows with the queue (docs/scaling.md, the fleet section), and a fixed first timeout below it
 * makes every edge resend its whole window, the cloud then spends its CPU acking duplicates and its
 * throughput falls below capacity. Samples come only from batches acked after their first send
 * (Karn: the ack of a resent batch does not say which send it answers).
 * There is no session-wide backoff (RFC 6298 §5.5): a resend here more often means a lost copy (a
 * dead ingest worker's share, a dropped connection) than a slow cloud, and doubling the first
 * timeout of every later batch for it slowed the recovery of the lost ones past minutes (e2e
 * mosquitto-workers). The cost: a sudden jump of latency past the current timeout is not learned
 * (no clean sample comes); each such batch is resent, with its own doubling wait, until the
 * latency rises gradually, as a growing queue's does.
 */
export interface AckRtt {
  /** Smoothed round trip, ms (undefined before the first sample). */
  srttMs: number | undefined;
  /** Its mean deviation, ms. */
  rttvarMs: number;
}

export const freshAckRtt = (): AckRtt => ({ srttMs: undefined, rttvarMs: 0 });

/** RFC 6298 §2.2–2.3 with its α = 1/8 and β = 1/4: the state after a clean sample (ms). */
export function observeAckRtt(prev: AckRtt, sampleMs: number): AckRtt {
  if (prev.srttMs === undefined) return { srttMs: sampleMs, rttvarMs: sampleMs / 2 };
  const rttvarMs = 0.75 * prev.rttvarMs + 0.25 * Math.abs(prev.srttMs - sampleMs);
  return { srttMs: 0.875 * prev.srttMs + 0.125 * sampleMs, rttvarMs };
}

/**
 * The base of a fresh batch's first resend timer: SRTT + 4·RTTVAR, never below `ackTimeoutMs` (a
 * cloud that acks fast still gets that long) nor above `maxMs`.
 */
export function firstTimeoutMs(rtt: AckRtt, ackTimeoutMs: number, maxMs: number): number {
  const estimate = rtt.srttMs === undefined ? ackTimeoutMs : rtt.srttMs + 4 * rtt.rttvarMs;
  return Math.round(Math.min(Math.max(estimate, ackTimeoutMs), maxMs));
}

/** The timer after a resend: the base doubles, up to `maxMs`. */
export function nextResendTimer(
  prev: ResendTimer,
  maxMs: number,
  random: () => number = Math.random,
): ResendTimer {
  const baseMs = Math.min(prev.baseMs * 2, maxMs);
  return { baseMs, waitMs: jittered(baseMs, random) };
}
