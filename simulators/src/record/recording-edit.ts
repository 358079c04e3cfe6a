import { seededRandom } from '../scenario/seeded-random.js';
import type { Frame } from './recording-format.js';

/**
 * Fault cases built from a recording: drop, duplicate, delay or corrupt a share of the frames,
 * chosen by a seed so the same command gives the same file. Link frames (outages) are left alone.
 */
export interface EditOptions {
  /** Shares of frames, 0..1. */
  drop?: number;
  duplicate?: number;
  delay?: number;
  corrupt?: number;
  /** How far a delayed frame moves later, scenario ms. */
  delayMs?: number;
  seed?: number | string;
}

export interface EditReport {
  dropped: number;
  duplicated: number;
  delayed: number;
  corrupted: number;
}

/** Flips one random bit of one random byte (or, for an empty frame, adds a byte). */
function corruptBytes(b64: string, pick: (n: number) => number): string {
  const b = Buffer.from(b64, 'base64');
  if (b.length === 0) return Buffer.from([pick(256)]).toString('base64');
  const i = pick(b.length);
  b[i] = b[i]! ^ (1 << pick(8));
  return b.toString('base64');
}

export function editFrames(
  frames: readonly Frame[],
  o: EditOptions,
): { frames: Frame[]; report: EditReport } {
  const r = seededRandom(o.seed ?? 1, 'edit');
  const report: EditReport = { dropped: 0, duplicated: 0, delayed: 0, corrupted: 0 };
  const out: Frame[] = [];
  for (const f of frames) {
    // One draw per fault kind per frame, whatever the options, so changing one share does not reshuffle the others.
    const [dDrop, dDup, dDelay, dCorrupt] = [r.next(), r.next(), r.next(), r.next()];
    if (f.proto === 'link') {
      out.push(f);
      continue;
    }
    if (dDrop < (o.drop ?? 0)) {
      report.dropped++;
      continue;
    }
    let g: Frame = { ...f };
    if (dCorrupt < (o.corrupt ?? 0)) {
      g = { ...g, bytes: corruptBytes(g.bytes, r.int) };
      report.corrupted++;
    }
    if (dDelay < (o.delay ?? 0)) {
      g = { ...g, t: g.t + (o.delayMs ?? 1000) };
      report.delayed++;
    }
    out.push(g);
    if (dDup < (o.duplicate ?? 0)) {
      out.push({ ...g });
      report.duplicated++;
    }
  }
  out.sort((a, b) => a.t - b.t);
  return { frames: out, report };
}

/** Parses a share: `5%`, `0.05`. */
export function parseShare(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  if (!(v >= 0 && v <= 1))
    throw new RangeError(`share ${JSON.stringify(text)} must be like 5% or 0.05 (0..1)`);
  return v;
}
