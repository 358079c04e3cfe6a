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

/** The timer after a resend: the base doubles, up to `maxMs`. */
export function nextResendTimer(
  prev: ResendTimer,
  maxMs: number,
  random: () => number = Math.random,
): ResendTimer {
  const baseMs = Math.min(prev.baseMs * 2, maxMs);
  return { baseMs, waitMs: jittered(baseMs, random) };
}
