import { type CameraAuth, postWithAuth } from './http-auth-client.js';
import { multipartBody } from './multipart-body.js';

/**
 * A simulated Hikvision camera in HTTP listening mode: it POSTs `EventNotificationAlert` XML to
 * the edge (/cam/{id}/isapi), as multipart/form-data with a JPEG when it has a snapshot, and a
 * `videoloss`/`inactive` alert as its keep-alive, as the real cameras do.
 */
export interface IsapiCameraOptions {
  /** e.g. http://127.0.0.1:8088 */
  baseUrl: string;
  cameraId: string;
  auth: CameraAuth;
  channel?: number;
  ip?: string;
}

export interface IsapiAlarm {
  /** ISAPI eventType: VMD, linedetection, fielddetection, regionEntrance, smokeDetection, fireDetection, personDensityDetection, ANPR, faceContrast... */
  eventType: string;
  plate?: string;
  snapshot?: Uint8Array;
  time?: Date;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function isapiAlertXml(o: {
  eventType: string;
  state: 'active' | 'inactive';
  channel: number;
  ip: string;
  time: Date;
  plate?: string;
  count: number;
}): string {
  const anpr = o.plate ? `<ANPR><licensePlate>${xmlEscape(o.plate)}</licensePlate></ANPR>` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
    `<ipAddress>${o.ip}</ipAddress><portNo>80</portNo><protocol>HTTP</protocol><channelID>${o.channel}</channelID>` +
    `<dateTime>${o.time.toISOString()}</dateTime><activePostCount>${o.count}</activePostCount>` +
    `<eventType>${xmlEscape(o.eventType)}</eventType><eventState>${o.state}</eventState>` +
    `<eventDescription>${xmlEscape(o.eventType)} alarm</eventDescription>${anpr}</EventNotificationAlert>`
  );
}

export function createIsapiCamera(opts: IsapiCameraOptions) {
  const url = `${opts.baseUrl}/cam/${encodeURIComponent(opts.cameraId)}/isapi`;
  let posts = 0;
  const send = async (xml: string, eventType: string, snapshot?: Uint8Array) => {
    posts++;
    if (!snapshot)
      return (await postWithAuth(url, Buffer.from(xml), 'application/xml; charset="UTF-8"', opts.auth))
        .status;
    const { body, contentType } = multipartBody([
      { name: eventType, contentType: 'application/xml; charset="UTF-8"', data: xml },
      {
        name: `${eventType}Picture`,
        filename: `${eventType}Picture.jpg`,
        contentType: 'image/jpeg',
        data: snapshot,
      },
    ]);
    return (await postWithAuth(url, body, contentType, opts.auth)).status;
  };
  const base = { channel: opts.channel ?? 1, ip: opts.ip ?? '192.168.1.64' };
  return {
    /** Sends one alarm; resolves with the HTTP status the edge answered. */
    alarm: (a: IsapiAlarm) =>
      send(
        isapiAlertXml({
          ...base,
          eventType: a.eventType,
          state: 'active',
          time: a.time ?? new Date(),
          plate: a.plate,
          count: posts + 1,
        }),
        a.eventType,
        a.snapshot,
      ),
    heartbeat: () =>
      send(
        isapiAlertXml({ ...base, eventType: 'videoloss', state: 'inactive', time: new Date(), count: 0 }),
        'videoloss',
      ),
  };
}
