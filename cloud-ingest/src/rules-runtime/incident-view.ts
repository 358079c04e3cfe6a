import type { AlertText, AuditEntry, Incident, IncidentOutcome, IncidentResponse } from '@village/rules';

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
  /** What it is about (one person, one device and kind, one station and pollutant). */
  subject: string;
  /** Rule of the opening alert, e.g. 'elder.fall'. */
  kind: string;
  /** Id of the first incident of the linked situation (its own id when alone). */
  situation: string;
  /** 1 at opening, +1 for each life-safety re-arm. */
  priority: number;
  title: string;
  /** The opening alert's text as fields; the dashboards render it in the reader's language. */
  text: AlertText | null;
  /** When the cloud received the alert that opened it (the response time counts from here). */
  openedAt: number;
  receivedAt: number;
  /** Data time of the opening alert. */
  eventAt: number;
  /** Next escalation or top-level repeat; null once acknowledged or resolved. */
  deadline: number | null;
  level: string;
  escalations: Escalation[];
  late: boolean;
  delayMs: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  firstResponseMs: number | null;
  /** Every alert or life-safety repeat that asked for a response, and its response time. */
  responses: IncidentResponse[];
  /** The optional "arrived on scene" step: when, who, and how long after the acknowledgement. */
  arrivedAt: number | null;
  arrivedBy: string | null;
  arrivalMs: number | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  outcome: IncidentOutcome | null;
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
  text: AlertText | null;
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
    subject: i.subject,
    kind: i.kind,
    situation: i.situation,
    priority: i.priority,
    title: extras.title,
    text: extras.text,
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
    responses: i.responses.map((r) => ({ ...r })),
    arrivedAt: i.arrivedAt,
    arrivedBy: i.arrivedBy,
    arrivalMs: i.arrivalMs,
    resolvedAt: i.resolvedAt,
    resolvedBy: i.resolvedBy,
    outcome: i.outcome,
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
    station: v.station,
    // Views stored before issue 15 lack these; the SLA figures need only times.
    subject: v.subject ?? `incident:${v.id}`,
    kind: v.kind ?? 'unknown',
    situation: v.situation ?? v.id,
    priority: v.priority ?? 1,
    status: v.state,
    severity: v.severity,
    alerts: v.alertKeys,
    people: v.people,
    devices: v.devices,
    openedAt: v.openedAt,
    eventAt: v.eventAt,
    lastEventAt: v.eventAt,
    lastRearmEventAt: v.eventAt,
    late: v.late,
    delayMs: v.delayMs,
    lastAlertAt: v.openedAt,
    level: new Set(v.escalations.map((e) => e.level)).size,
    levelName: v.level,
    deadline: v.deadline,
    acknowledgedAt: v.acknowledgedAt,
    acknowledgedBy: v.acknowledgedBy,
    firstResponseMs: v.firstResponseMs,
    responses: v.responses ?? [
      {
        alert: v.alertKeys[0] ?? v.id,
        at: v.openedAt,
        respondedAt: v.acknowledgedAt,
        responseMs: v.firstResponseMs,
      },
    ],
    arrivedAt: v.arrivedAt ?? null,
    arrivedBy: v.arrivedBy ?? null,
    arrivalMs: v.arrivalMs ?? null,
    arrivalDeadline: null,
    resolvedAt: v.resolvedAt,
    resolvedBy: v.resolvedBy,
    outcome: v.outcome ?? null,
    note: v.note,
    audit: v.audit,
  };
}
