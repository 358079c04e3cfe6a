import { type RulesOutput, renderAlertText } from '@village/rules';
import type { NotificationMessage } from '../notify/notifier.js';
import type { IncidentView } from './incident-view.js';
import type { RulesSetup } from './rules-from-registry.js';

export type NotifyOutput = Extract<RulesOutput, { type: 'notify' }>;

/** One notification ready for the dispatcher: its message, its idempotency key and the body sent. */
export interface IncidentNotification {
  message: Omit<NotificationMessage, 'deliveryKey'>;
  key: string;
  body: string;
}

/**
 * Composes the notification for a rules `notify` output: the place its level notifies, a key that
 * tells two notices apart, and a body with the structured fields plus a Chinese text for SMS and
 * duty phones (names masked above the village). `v` is the incident's view as this flush wrote it.
 */
export function composeIncidentNotification(
  o: NotifyOutput,
  v: IncidentView | undefined,
  setup: Pick<RulesSetup, 'places' | 'displayName'>,
): IncidentNotification {
  const places = setup.places.get(o.village);
  const place = o.level === 'town' ? places?.town : o.level === 'county' ? places?.county : o.village;
  const message = {
    incidentId: o.incidentId,
    village: o.village,
    level: o.level,
    place: place ?? o.village,
    reason: o.reason,
  };
  // The audit length tells apart two joins (or two notices) of the same incident.
  const key = `${o.incidentId}|${o.level}|${o.reason}|${v?.audit.length ?? 0}`;
  // Structured fields plus a Chinese text for SMS and duty phones; names masked above the village.
  const text = v?.text ?? null;
  const textZh = text ? renderAlertText(text, 'zh', (id) => setup.displayName(id, o.level)) : null;
  const body = JSON.stringify({
    type: 'incident',
    notification: key,
    ...message,
    text,
    textZh,
    incident: v,
  });
  return { message, key, body };
}
