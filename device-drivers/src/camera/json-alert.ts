import type { EventData } from '@village/protocol';
import { z } from 'zod';
import { CAMERA_EVENT_TYPES, type CameraMessage } from './camera-event-types.js';

/**
 * The generic JSON event format for cameras that do not speak ISAPI (docs/camera-integration.md):
 * `POST /cam/{id}/events` with this object as the body, or as the `event` part of a
 * multipart/form-data request whose `snapshot` part is the image.
 */
export const jsonAlertSchema = z.strictObject({
  type: z.enum([...CAMERA_EVENT_TYPES, 'heartbeat']),
  /** Camera's own time, ISO 8601 (kept as data; the event time is taken at the edge). */
  time: z.string().max(64).optional(),
  channel: z.number().int().min(0).max(1024).optional(),
  zone: z.string().max(128).optional(),
  /** vehicle_plate */
  plate: z.string().max(32).optional(),
  /** face_match: matched person's name or id, and similarity 0..1 */
  person: z.string().max(128).optional(),
  similarity: z.number().min(0).max(1).optional(),
  /** crowding: people counted */
  count: z.number().int().min(0).max(1_000_000).optional(),
  description: z.string().max(256).optional(),
});

export class JsonAlertError extends Error {
  override readonly name = 'JsonAlertError';
  constructor(
    readonly code: 'bad_json' | 'bad_shape',
    message: string,
  ) {
    super(message);
  }
}

export function parseJsonAlert(text: string): CameraMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JsonAlertError('bad_json', `event JSON: ${(err as Error).message}`);
  }
  const r = jsonAlertSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new JsonAlertError(
      'bad_shape',
      `event JSON: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  const a = r.data;
  if (a.type === 'heartbeat') return { kind: 'heartbeat' };
  const data: EventData = { source: 'json', camera_time: a.time ?? null };
  for (const k of ['channel', 'zone', 'plate', 'person', 'similarity', 'count', 'description'] as const) {
    if (a[k] !== undefined) data[k] = a[k];
  }
  return { kind: 'alarm', type: a.type, data };
}
