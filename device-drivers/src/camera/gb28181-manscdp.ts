import type { EventData, Severity } from '@village/protocol';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CameraEventType, CameraMessage } from './camera-event-types.js';

/**
 * GB/T 28181-2016 MANSCDP bodies (Application/MANSCDP+xml) a device sends in SIP MESSAGE:
 * Keepalive (§9.6) and Alarm notifications (§9.4, Annex A.2.5: AlarmPriority, AlarmMethod,
 * AlarmTime, AlarmDescription, Longitude, Latitude, Info/AlarmType, Info/AlarmTypeParam/EventType),
 * and the Response the server sends back for an Alarm (A.2.6). Devices usually declare
 * encoding="GB2312".
 */
export type ManscdpErrorCode =
  | 'bad_charset'
  | 'doctype'
  | 'not_xml'
  | 'bad_shape'
  | 'bad_field'
  | 'wrong_device';

export class ManscdpError extends Error {
  override readonly name = 'ManscdpError';
  constructor(
    readonly code: ManscdpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
});

export interface Manscdp {
  cmdType: string;
  deviceId: string;
  sn?: string;
  fields: Record<string, unknown>;
}

/** Decodes the body with the charset the XML declaration (or Content-Type) names. */
export function decodeManscdpBody(body: Buffer, contentType = ''): string {
  const head = body.subarray(0, 100).toString('latin1');
  const declared =
    /encoding\s*=\s*["']([A-Za-z0-9_-]+)["']/i.exec(head)?.[1] ??
    /charset=([A-Za-z0-9_-]+)/i.exec(contentType)?.[1] ??
    'UTF-8';
  // GB18030 is a superset of GB2312 and GBK, so one decoder serves all three.
  const label = /^gb/i.test(declared) ? 'gb18030' : declared;
  try {
    return new TextDecoder(label, { fatal: true }).decode(body);
  } catch (err) {
    throw new ManscdpError('bad_charset', `body is not valid ${declared}: ${(err as Error).message}`);
  }
}

export function parseManscdp(xml: string): Manscdp {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw new ManscdpError('doctype', 'DOCTYPE/ENTITY declarations are refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new ManscdpError('not_xml', `not XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    // The validator passes some documents the parser throws on (a malformed XML declaration).
    throw new ManscdpError('not_xml', `not XML: ${(err as Error).message}`);
  }
  const root = (doc.Notify ?? doc.Response ?? doc.Query) as Record<string, unknown> | undefined;
  if (typeof root !== 'object' || root === null)
    throw new ManscdpError('bad_shape', 'root must be Notify, Response or Query');
  const cmdType = root.CmdType;
  const deviceId = root.DeviceID;
  if (typeof cmdType !== 'string' || cmdType === '') throw new ManscdpError('bad_shape', 'CmdType missing');
  if (typeof deviceId !== 'string' || !/^[0-9]{20}$/.test(deviceId))
    throw new ManscdpError('bad_field', `DeviceID must be 20 digits, got ${String(deviceId).slice(0, 40)}`);
  return { cmdType, deviceId, sn: typeof root.SN === 'string' ? root.SN : undefined, fields: root };
}

/**
 * The alarm notification response (§9.4.2 c, A.2.6): after its 200 to the device's Alarm
 * MESSAGE, the server sends this in a MESSAGE of its own, naming the alarm's SN and DeviceID.
 * ASCII only, so the declared GB2312 is also UTF-8.
 */
export function alarmResponseBody(sn: string, deviceId: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>Alarm</CmdType>\r\n<SN>${sn}</SN>\r\n<DeviceID>${deviceId}</DeviceID>\r\n<Result>OK</Result>\r\n</Response>\r\n`,
  );
}

/** Annex A.2.5: AlarmMethod 5 = video alarm; its AlarmType says what the analytics saw. */
const VIDEO_ALARM_TYPES: Record<string, CameraEventType> = {
  '2': 'motion',
  '5': 'intrusion', // tripwire
  '6': 'intrusion', // intrusion (zone)
  '8': 'intrusion', // loitering
  '10': 'crowding', // density
};

const PRIORITY_SEVERITY: Record<string, Severity> = {
  '1': 'critical',
  '2': 'warning',
  '3': 'info',
  '4': 'info',
};

export function alarmToMessage(m: Manscdp): CameraMessage {
  const f = m.fields;
  const priority = str(f.AlarmPriority);
  const method = str(f.AlarmMethod);
  if (!priority || !/^[1-4]$/.test(priority))
    throw new ManscdpError('bad_field', `AlarmPriority must be 1..4, got ${String(priority).slice(0, 20)}`);
  if (!method || !/^[1-7]$/.test(method))
    throw new ManscdpError('bad_field', `AlarmMethod must be 1..7, got ${String(method).slice(0, 20)}`);
  const info = f.Info as Record<string, unknown> | undefined;
  const alarmType = str(info?.AlarmType) ?? str(f.AlarmType);
  // 2016 edition: Info/AlarmTypeParam/EventType (1 entering, 2 leaving a zone); some devices put it flat.
  const param = info?.AlarmTypeParam as Record<string, unknown> | undefined;
  const eventType = str(param?.EventType) ?? str(info?.EventType) ?? str(f.EventType);
  const type: CameraEventType =
    (method === '5' && alarmType && VIDEO_ALARM_TYPES[alarmType]) || 'camera_alarm';
  const data: EventData = {
    source: 'gb28181',
    gb_device: m.deviceId,
    alarm_priority: Number(priority),
    alarm_method: Number(method),
    alarm_type: code(alarmType),
    event_type: code(eventType),
    camera_time: str(f.AlarmTime) ?? null,
    longitude: degrees(f.Longitude, 180),
    latitude: degrees(f.Latitude, 90),
  };
  const desc = str(f.AlarmDescription);
  if (desc) data.description = desc;
  // intrusion keeps the configured severity; the rest follow the device's priority
  return {
    kind: 'alarm',
    type,
    severity: type === 'intrusion' ? undefined : PRIORITY_SEVERITY[priority],
    data,
  };
}

/** A small numeric code (AlarmType, EventType); anything else is not a code and is kept as absent. */
function code(v: string | undefined): number | null {
  return v !== undefined && /^\d{1,4}$/.test(v) ? Number(v) : null;
}

/** A WGS-84 coordinate within ±limit degrees (A.2.5 Longitude/Latitude are optional doubles). */
function degrees(v: unknown, limit: number): number | null {
  const s = str(v);
  if (s === undefined || !/^-?\d{1,3}(\.\d{1,12})?$/.test(s)) return null;
  const n = Number(s);
  return Math.abs(n) <= limit ? n : null;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.slice(0, 256);
  if (typeof v === 'number') return String(v);
  return undefined;
}
