import { type PlaceSla, slaByPlace, slaByVillage } from '@village/rules';
import type { SlaInput } from '../rules-runtime/rules-runtime.js';

/** One village's response figures as GET /api/v1/sla answers them. */
export interface VillageSlaView {
  village: string;
  incidents: number;
  acknowledged: number;
  withinTarget: number;
  withinTargetShare: number | null;
  medianResponseMs: number | null;
  p90ResponseMs: number | null;
  late: number;
}

/** Per village, against the response target. */
export function villageSla({ incidents: list, now, targetMs }: SlaInput): VillageSlaView[] {
  return slaByVillage(list, { now, targetMs }).map((s) => ({
    village: s.village,
    incidents: s.incidents,
    acknowledged: list.filter((i) => i.village === s.village && i.acknowledgedAt !== null).length,
    withinTarget: s.acknowledgedWithinTarget,
    withinTargetShare: s.shareWithinTarget,
    medianResponseMs: s.medianResponseMs,
    p90ResponseMs: s.p90ResponseMs,
    late: s.late,
  }));
}

/** Per village, town and county, over every response (joined alerts and re-arms included). */
export function placeSla({ incidents, now, targetMs, placeOf }: SlaInput): PlaceSla[] {
  return slaByPlace(incidents, placeOf, { now, targetMs });
}
