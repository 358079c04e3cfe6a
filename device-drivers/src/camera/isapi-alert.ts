import type { EventData } from '@village/protocol';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CameraEventType, CameraMessage } from './camera-event-types.js';

/**
 * Hikvision ISAPI `EventNotificationAlert` (HTTP listening mode): the camera POSTs this XML,
 * alone or as one part of multipart/form-data beside a JPEG. Shape (ISAPI developer guide,
 * XML_EventNotificationAlert_AlarmEventInfo): ipAddress, macAddress, channelID, dateTime,
 * activePostCount, eventType, eventState (active|inactive), eventDescription, plus per-type nodes
 * (ANPR/licensePlate, faceContrast results, DetectionRegionList...).
 */
export class IsapiError extends Error {
  override readonly name = 'IsapiError';
  constructor(
    readonly code: 'too_large' | 'not_xml' | 'doctype' | 'bad_shape',
    message: string,
  ) {
    super(`ISAPI alert: ${message}`);
  }
}

/** Largest XML document accepted, bytes (a real alert is 1-3 KiB). */
export const MAX_ISAPI_XML_BYTES = 64 * 1024;

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
});

const TYPE_BY_ISAPI: Record<string, CameraEventType> = {
  vmd: 'motion',
  linedetection: 'intrusion',
  fielddetection: 'intrusion',
  regionentrance: 'intrusion',
  regionexiting: 'intrusion',
  loitering: 'intrusion',
  smokedetection: 'smoke',
  smoke: 'smoke',
  firedetection: 'fire',
  fire: 'fire',
  persondensitydetection: 'crowding',
  crowddensity: 'crowding',
  crowdsituationanalysis: 'crowding',
  anpr: 'vehicle_plate',
  vehicledetection: 'vehicle_plate',
  facecontrast: 'face_match',
  blacklistfacecontrast: 'face_match',
  whitelistfacecontrast: 'face_match',
  facesnapmatch: 'face_match',
};

/** Hikvision's keep-alive is a `videoloss` alert in state `inactive`. */
const HEARTBEAT_TYPES = new Set(['videoloss', 'heartbeat']);

export function isIsapiXml(text: string): boolean {
  return /<\s*(\w+:)?EventNotificationAlert[\s>]/.test(text);
}

export function parseIsapiAlert(xml: string): CameraMessage | { kind: 'ended'; isapiType: string } {
  if (Buffer.byteLength(xml) > MAX_ISAPI_XML_BYTES)
    throw new IsapiError('too_large', `larger than ${MAX_ISAPI_XML_BYTES} bytes`);
  // No DTDs: entity expansion is a classic XML bomb and cameras never send one.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw new IsapiError('doctype', 'DOCTYPE/ENTITY declarations are refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new IsapiError('not_xml', `${valid.err.msg} (line ${valid.err.line})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    // The validator and the parser disagree on some documents (a malformed XML declaration
    // passes the one and throws in the other): the parser's verdict is final.
    throw new IsapiError('not_xml', (err as Error).message);
  }
  const alert = doc.EventNotificationAlert;
  if (typeof alert !== 'object' || alert === null)
    throw new IsapiError('bad_shape', 'no EventNotificationAlert element');
  const a = alert as Record<string, unknown>;
  const eventType = text(a.eventType);
  if (!eventType) throw new IsapiError('bad_shape', 'eventType is missing');
  const state = (text(a.eventState) ?? 'active').toLowerCase();
  const key = eventType.toLowerCase();
  if (HEARTBEAT_TYPES.has(key) && state === 'inactive') return { kind: 'heartbeat' };
  if (state === 'inactive') return { kind: 'ended', isapiType: eventType };
  const type = TYPE_BY_ISAPI[key] ?? 'camera_alarm';
  const data: EventData = {
    source: 'isapi',
    camera_event: eventType.slice(0, 256),
    channel: clip(text(a.channelID) ?? text(a.dynChannelID)) ?? null,
    camera_time: clip(text(a.dateTime)) ?? null,
  };
  const desc = clip(text(a.eventDescription));
  if (desc) data.description = desc;
  const anpr = a.ANPR as Record<string, unknown> | undefined;
  const plate = clip(text(anpr?.licensePlate));
  if (plate) data.plate = plate;
  const face = find(a, 'FaceContrastResult') ?? find(a, 'faceContrastResult');
  if (face) {
    const similarity = Number(text((face as Record<string, unknown>).similarity));
    if (Number.isFinite(similarity)) data.similarity = similarity;
    const name = clip(text(find(face, 'name')));
    if (name) data.person = name;
  }
  const count = Number(text(find(a, 'peopleNum') ?? find(a, 'personNum')));
  if (Number.isFinite(count)) data.count = count;
  return { kind: 'alarm', type, data };
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function clip(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.slice(0, 256);
}

/** Depth-bounded search for a child element by name (per-type nodes sit at varying depths). */
function find(node: unknown, name: string, depth = 0): unknown {
  if (depth > 6 || typeof node !== 'object' || node === null) return undefined;
  const rec = node as Record<string, unknown>;
  if (name in rec) return rec[name];
  for (const v of Object.values(rec)) {
    const hit = find(Array.isArray(v) ? v[0] : v, name, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}
