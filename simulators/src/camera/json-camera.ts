import { type CameraAuth, postWithAuth } from './http-auth-client.js';
import { multipartBody } from './multipart-body.js';

/**
 * A simulated camera using the edge's generic JSON event format (docs/camera-integration.md):
 * POST /cam/{id}/events, JSON alone or multipart with `event` and `snapshot` parts.
 */
export interface JsonCameraEvent {
  type:
    | 'intrusion'
    | 'smoke'
    | 'fire'
    | 'crowding'
    | 'vehicle_plate'
    | 'face_match'
    | 'motion'
    | 'camera_alarm'
    | 'heartbeat';
  time?: string;
  channel?: number;
  zone?: string;
  plate?: string;
  person?: string;
  similarity?: number;
  count?: number;
  description?: string;
}

export function createJsonCamera(opts: { baseUrl: string; cameraId: string; auth: CameraAuth }) {
  const url = `${opts.baseUrl}/cam/${encodeURIComponent(opts.cameraId)}/events`;
  return {
    async event(e: JsonCameraEvent, snapshot?: Uint8Array): Promise<number> {
      const json = JSON.stringify({ time: new Date().toISOString(), ...e });
      if (!snapshot)
        return (await postWithAuth(url, Buffer.from(json), 'application/json', opts.auth)).status;
      const { body, contentType } = multipartBody([
        { name: 'event', contentType: 'application/json', data: json },
        { name: 'snapshot', filename: 'snapshot.jpg', contentType: 'image/jpeg', data: snapshot },
      ]);
      return (await postWithAuth(url, body, contentType, opts.auth)).status;
    },
  };
}
