import type { EngineState, Incident, ResolvedIncidentOptions } from '@village/rules';
import type { Deadline } from '../shared-store/shared-store.js';

/**
 * An incident's next escalation as a deadline row of the shared store (docs/scaling.md "Rules
 * across hosts"): the one contract between a partition's owner, which schedules and cancels it,
 * and the deadline firer of any host, which fires it. The key names the incident, the level it
 * escalates to and the time it is due, so a row is fired at most once (`fireDue` deletes it) and
 * scheduling the same escalation again, from the owner or from the firer's chain, is the same row.
 */
export interface EscalationPayload {
  incidentId: string;
  village: string;
  /** The level this escalation notifies (its name, e.g. 'town'). */
  level: string;
}

export const escalationKey = (incidentId: string, level: string, dueAt: number): string =>
  `${incidentId}|${level}|${dueAt}`;

/** The deadline row of an open (unacknowledged) incident's next escalation; undefined otherwise. */
export function escalationOf(
  partition: string,
  i: Incident,
  opts: ResolvedIncidentOptions,
): Deadline | undefined {
  if (i.status !== 'open' || i.deadline === null) return undefined;
  const level = opts.levels[Math.min(i.level + 1, opts.levels.length - 1)]!;
  const payload: EscalationPayload = { incidentId: i.id, village: i.village, level };
  return { key: escalationKey(i.id, level, i.deadline), partition, dueAt: i.deadline, payload };
}

/** Every escalation row a partition's state asks for, by incident id. */
export function escalationsOf(
  partition: string,
  state: EngineState,
  opts: ResolvedIncidentOptions,
): Map<string, Deadline> {
  const out = new Map<string, Deadline>();
  for (const i of Object.values(state.incidents.open)) {
    const d = escalationOf(partition, i, opts);
    if (d) out.set(i.id, d);
  }
  return out;
}

/**
 * The row after `fired`, as the engine's tick would compute it (incidents.ts tickIncidents):
 * the next level one step later, or at the top level the same level one repeat later.
 */
export function nextEscalation(
  fired: Deadline,
  p: EscalationPayload,
  opts: ResolvedIncidentOptions,
): Deadline {
  const top = opts.levels.length - 1;
  const at = Math.max(0, opts.levels.indexOf(p.level));
  const dueAt = fired.dueAt + (at < top ? opts.escalationStepMs : opts.topRepeatMs);
  const level = opts.levels[Math.min(at + 1, top)]!;
  const payload: EscalationPayload = { ...p, level };
  return { key: escalationKey(p.incidentId, level, dueAt), partition: fired.partition, dueAt, payload };
}

/** The payload of a stored row, or undefined when it is not one of ours (a damaged or foreign row). */
export function escalationPayloadOf(payload: unknown): EscalationPayload | undefined {
  const p = payload as Partial<EscalationPayload> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.incidentId !== 'string' ||
    typeof p.village !== 'string' ||
    typeof p.level !== 'string'
  )
    return undefined;
  return { incidentId: p.incidentId, village: p.village, level: p.level };
}
