import { RulesError } from './errors.js';

/** A daily window in local time, e.g. 07:00–21:00; `from` < `to` (no window across midnight). */
export interface WakingHours {
  /** 'HH:MM', local time. */
  from: string;
  /** 'HH:MM', local time, exclusive. */
  to: string;
}

export interface CompiledWindow {
  fromMin: number;
  toMin: number;
}

const DAY_MS = 86_400_000;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(s: string, path: string): number {
  const m = typeof s === 'string' ? HHMM.exec(s) : null;
  if (!m) throw new RulesError('bad_config', path, "must be 'HH:MM'", s);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function compileWakingHours(w: WakingHours, path: string): CompiledWindow {
  const fromMin = minutes(w?.from, `${path}.from`);
  const toMin = w.to === '24:00' ? 1440 : minutes(w.to, `${path}.to`);
  if (toMin <= fromMin) throw new RulesError('bad_config', `${path}.to`, 'must be after from', w.to);
  return { fromMin, toMin };
}

/** The window containing `t`, or the next one after it, as ms epochs [start, end). */
export function wakingWindowAtOrAfter(
  w: CompiledWindow,
  t: number,
  utcOffsetMinutes: number,
): { start: number; end: number } {
  const off = utcOffsetMinutes * 60_000;
  const dayStart = Math.floor((t + off) / DAY_MS) * DAY_MS - off;
  const end = dayStart + w.toMin * 60_000;
  if (t < end) return { start: dayStart + w.fromMin * 60_000, end };
  return { start: dayStart + DAY_MS + w.fromMin * 60_000, end: end + DAY_MS };
}

export function isWaking(w: CompiledWindow, t: number, utcOffsetMinutes: number): boolean {
  return wakingWindowAtOrAfter(w, t, utcOffsetMinutes).start <= t;
}
