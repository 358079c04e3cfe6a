import type { AuditEntry, Incident } from '@village/rules';

/** One escalation as the API shows it: the level notified, when (`at`) and the deadline it answered (`dueAt`). */
export interface Escalation {
  level: string;
  at: number;
  dueAt: number;
}

/**
 * An incident as stored and served (docs/api.md "Alerts and incidents"): the rules library's
 * Incident plus what only the runtime knows (alert row ids, escalation times, a title).
 */
export interface IncidentView {
  id: string;
  state: Incident['status'];
  severity: 'critical';
  village: string;
  station: string | null;
  person: string | null;
  title: string;
  /** When the cloud received the alert that opened it (the response time counts from here). */
  openedAt: number;
  receivedAt: number;
  /** Data time of the opening alert. */
  eventAt: number;
  deadline: number | null;
  level: string;
  escalations: Escalation[];
  late: boolean;
  delayMs: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  firstResponseMs: number | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  note: string | null;
  /** Row ids of the alerts that opened or joined it, first one first. */
  alerts: number[];
  /** The rules library's alert keys, same order. */
  alertKeys: string[];
  people: string[];
  devices: string[];
  audit: AuditEntry[];
}

export interface ViewExtras {
  title: string;
  station: string | null;
  escalations: Escalation[];
  alerts: number[];
}

export function toIncidentView(i: Incident, extras: ViewExtras): IncidentView {
  return {
    id: i.id,
    state: i.status,
    severity: i.severity,
    village: i.village,
    station: extras.station,
    person: i.people[0] ?? null,
    title: extras.title,
    openedAt: i.openedAt,
    receivedAt: i.openedAt,
    eventAt: i.eventAt,
    deadline: i.deadline,
    level: i.levelName,
    escalations: extras.escalations,
    late: i.late,
    delayMs: i.delayMs,
    acknowledgedAt: i.acknowledgedAt,
    acknowledgedBy: i.acknowledgedBy,
    firstResponseMs: i.firstResponseMs,
    resolvedAt: i.resolvedAt,
    resolvedBy: i.resolvedBy,
    note: i.note,
    alerts: extras.alerts,
    alertKeys: [...i.alerts],
    people: [...i.people],
    devices: [...i.devices],
    audit: i.audit.map((a) => ({ ...a })),
  };
}

/** The library's Incident back from a view (for SLA figures over stored incidents). */
export function incidentOfView(v: IncidentView): Incident {
  return {
    id: v.id,
    village: v.village,
    status: v.state,
    severity: v.severity,
    alerts: v.alertKeys,
    people: v.people,
    devices: v.devices,
    openedAt: v.openedAt,
    eventAt: v.eventAt,
    late: v.late,
    delayMs: v.delayMs,
    lastAlertAt: v.openedAt,
    level: v.escalations.length,
    levelName: v.level,
    deadline: v.deadline,
    acknowledgedAt: v.acknowledgedAt,
    acknowledgedBy: v.acknowledgedBy,
    firstResponseMs: v.firstResponseMs,
    resolvedAt: v.resolvedAt,
    resolvedBy: v.resolvedBy,
    note: v.note,
    audit: v.audit,
  };
}
