import type { EventData, Severity } from '@village/protocol';

/**
 * The event vocabulary cameras are mapped to, whatever they speak (ISAPI, JSON, GB/T 28181).
 * `intrusion` severity is configurable; the others are fixed here.
 */
export const CAMERA_EVENT_TYPES = [
  'intrusion',
  'smoke',
  'fire',
  'crowding',
  'vehicle_plate',
  'face_match',
  'motion',
  'camera_alarm',
] as const;
export type CameraEventType = (typeof CAMERA_EVENT_TYPES)[number];

export function severityOf(type: CameraEventType, intrusion: Severity): Severity {
  switch (type) {
    case 'intrusion':
      return intrusion;
    case 'smoke':
    case 'fire':
      return 'critical';
    case 'crowding':
    case 'face_match':
    case 'camera_alarm':
      return 'warning';
    default:
      return 'info';
  }
}

/** What a protocol parser hands the driver: one alarm, or a sign of life. */
export type CameraMessage =
  | { kind: 'heartbeat' }
  | { kind: 'alarm'; type: CameraEventType; severity?: Severity; data: EventData };
