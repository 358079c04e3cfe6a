/**
 * The state machine behind every level rule: a condition must hold for `holdMs` before it
 * raises, and once raised it clears only on a clearing signal (the far side of a separate clear
 * level) held for `clearHoldMs`. Values in the dead band between the two levels neither raise
 * nor clear, so a value hovering on the line cannot flap. Held times are judged on the data
 * timestamps of the readings, so backlog replays behave as the live stream would have.
 */
export type ConditionSignal = 'trigger' | 'clear' | 'deadband';
export type ConditionTransition = 'raise' | 'repeat' | 'clear' | null;

export interface HeldCondition {
  phase: 'idle' | 'pending' | 'active';
  /** Data time the current episode started (first trigger). */
  since: number;
  /** Triggering inputs in this episode: an alert's repeat count. */
  count: number;
  /** Data time the clearing signal started, while active. */
  clearingSince: number | null;
}

export function idleCondition(): HeldCondition {
  return { phase: 'idle', since: 0, count: 0, clearingSince: null };
}

/** Advances `c` in place by one input at data time `ts`. */
export function advanceCondition(
  c: HeldCondition,
  signal: ConditionSignal,
  ts: number,
  holdMs: number,
  clearHoldMs: number,
): ConditionTransition {
  switch (c.phase) {
    case 'idle':
      if (signal !== 'trigger') return null;
      c.since = ts;
      c.count = 1;
      c.clearingSince = null;
      if (holdMs <= 0) {
        c.phase = 'active';
        return 'raise';
      }
      c.phase = 'pending';
      return null;
    case 'pending':
      if (signal !== 'trigger') {
        c.phase = 'idle';
        c.count = 0;
        return null;
      }
      c.count++;
      if (ts - c.since >= holdMs) {
        c.phase = 'active';
        return 'raise';
      }
      return null;
    case 'active':
      if (signal === 'trigger') {
        c.count++;
        c.clearingSince = null;
        return 'repeat';
      }
      if (signal === 'deadband') {
        c.clearingSince = null;
        return null;
      }
      if (c.clearingSince === null) c.clearingSince = ts;
      if (ts - c.clearingSince >= clearHoldMs) {
        c.phase = 'idle';
        c.count = 0;
        c.clearingSince = null;
        return 'clear';
      }
      return null;
  }
}
