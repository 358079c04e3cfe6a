import type { Quality, Severity, Value } from '@village/protocol';
import type { AlertText, IncidentOutcome } from '@village/rules';

/** Response shapes of the cloud API (docs/api.md). */
export interface User {
  username: string;
  role: 'admin' | 'county' | 'town' | 'village' | 'anonymous';
  place: string | null;
  name: string;
}
export interface Place {
  county: string;
  countyName: string;
  town: string;
  townName: string;
  village: string;
  villageName: string;
  station: string;
  stationName: string;
  /** The water body a water station samples (registry.yaml); null for other stations. */
  waterBody: 'river' | 'lake' | 'reservoir' | null;
}
export interface Device {
  id: string;
  kind: string;
  driver: string;
  edge: string | null;
  station: string | null;
  village: string | null;
  town: string | null;
  county: string | null;
  metrics: { name: string; unit: string }[];
  lastSeen: number | null;
}
export interface Latest {
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: Value;
  quality: Quality;
  station: string | null;
}
export interface EdgeHealth {
  id: string;
  online: boolean;
  boot: number | null;
  lastSeen: number | null;
  /** The edge's last state report (GET /edges); null before the first. */
  state?: {
    receivedAt: number;
    report: {
      outbox: { pendingReadings: number; pendingEvents: number; oldestUnsentAgeS: number | null };
      diskFreeBytes: number | null;
      diskTotalBytes: number | null;
    };
  } | null;
  alerts?: { kind: 'backlog' | 'disk'; clearedAt: number | null }[];
}
export interface Bucket {
  t: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  count: number;
}
export interface Alert {
  id: number;
  key: string;
  rule: string;
  severity: Severity | string;
  state: 'active' | 'cleared';
  village: string;
  station: string | null;
  device: string | null;
  person: string | null;
  message: string;
  /** The text as fields, rendered in the reader's language (null for alerts stored before issue 15). */
  text: AlertText | null;
  count: number;
  raisedAt: number;
  lastAt: number;
  clearedAt: number | null;
}
export interface Incident {
  id: string;
  state: 'open' | 'acknowledged' | 'resolved';
  severity: string;
  village: string;
  station: string | null;
  person: string | null;
  title: string;
  text: AlertText | null;
  kind: string;
  /** Id of the first incident of the linked situation (its own id when alone). */
  situation: string;
  priority: number;
  openedAt: number;
  receivedAt: number;
  /** Next escalation or repeat; null once acknowledged or resolved. */
  deadline: number | null;
  level: 'village' | 'town' | 'county';
  escalations: { level: string; at: number }[];
  late: boolean;
  delayMs: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  firstResponseMs: number | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  outcome: IncidentOutcome | null;
  arrivedAt: number | null;
  arrivedBy: string | null;
  note: string | null;
}
export interface VillageSla {
  village: string;
  incidents: number;
  acknowledged: number;
  withinTarget: number;
  withinTargetShare: number | null;
  medianResponseMs: number | null;
  p90ResponseMs: number | null;
}
export interface Person {
  id: string;
  name: string;
  station: string;
  village: string | null;
  wristband: string | null;
  livesAlone: boolean;
  masked: boolean;
}
/** One `reading` message of the live stream. */
export interface LiveReading extends Latest {
  village: string | null;
  historical: boolean;
}
