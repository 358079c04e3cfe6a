/** Under this much time left (or past the deadline) a countdown shows as urgent, ms. */
export const URGENT_MS = 30_000;

export interface Countdown {
  /** mm:ss, or h:mm:ss from an hour on. */
  clock: string;
  /** The deadline has passed: `clock` counts the time since it. */
  overdue: boolean;
  urgent: boolean;
}

/**
 * mm:ss until the deadline; once past it, the time since the deadline (h:mm:ss beyond an hour),
 * so a board left open over an escalation ladder always counts from the deadline it missed.
 */
export function countdown(deadline: number, now: number): Countdown {
  const s = Math.round(Math.abs(deadline - now) / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const clock =
    s >= 3600
      ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`
      : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
  return { clock, overdue: deadline < now, urgent: deadline - now < URGENT_MS };
}
