/**
 * Progress of a run or replay: a redrawn bar on a TTY, plain periodic lines otherwise (CI logs,
 * pipes), and nothing at all when quiet.
 */
export interface ProgressSnapshot {
  done: number;
  total: number;
  sent: number;
  acknowledged: number;
  errors: number;
  /** Scenario time reached, ms. */
  t: number;
}

export interface ProgressReporter {
  update(s: ProgressSnapshot): void;
  finish(s: ProgressSnapshot): void;
}

const clock = (t: number) => {
  const d = Math.floor(t / 86_400_000);
  const hh = String(Math.floor((t % 86_400_000) / 3_600_000)).padStart(2, '0');
  const mm = String(Math.floor((t % 3_600_000) / 60_000)).padStart(2, '0');
  return `${d > 0 ? `${d}d ` : ''}${hh}:${mm}`;
};

export function progressReporter(
  out: NodeJS.WritableStream & { isTTY?: boolean },
  options: { quiet?: boolean; everyMs?: number } = {},
): ProgressReporter {
  if (options.quiet) return { update: () => undefined, finish: () => undefined };
  const tty = out.isTTY === true;
  const everyMs = options.everyMs ?? (tty ? 100 : 5_000);
  let last = 0;
  const text = (s: ProgressSnapshot) =>
    `${s.done}/${s.total} frames, scenario ${clock(s.t)}: ${s.sent} sent, ${s.acknowledged} acknowledged, ${s.errors} errors`;
  const bar = (s: ProgressSnapshot) => {
    const width = 30;
    const filled = s.total === 0 ? width : Math.round((s.done / s.total) * width);
    return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor((100 * s.done) / Math.max(1, s.total))).padStart(3)}% ${text(s)}`;
  };
  return {
    update(s) {
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      out.write(tty ? bar(s) : `progress: ${text(s)}\n`);
    },
    finish(s) {
      out.write(tty ? `${bar(s)}\n` : `progress: ${text(s)}\n`);
    },
  };
}
