import { createHmac, timingSafeEqual } from 'node:crypto';
import { nbSmokeDetector, nbWaterMeter, nbWellCover, nbWristband } from '@village/device-drivers/codecs';
import { decode, encode } from 'cbor-x';
import coap from 'coap';

/**
 * A simulated NB-IoT device (smoke detector, well cover or wristband) that speaks to the edge
 * the way docs/nbiot-device-guide.md tells device makers to: CoAP POST /t/{imei}, a CBOR (or
 * JSON) envelope {c, p, a?, x?, m} with an HMAC-SHA256 MAC truncated to 8 bytes, and commands
 * taken from the 2.04 response and confirmed in the next uplink.
 */
export const NBIOT_SIM_CODECS = {
  'smoke-detector': nbSmokeDetector,
  'well-cover': nbWellCover,
  wristband: nbWristband,
  'water-meter': nbWaterMeter,
} as const;

type Codecs = typeof NBIOT_SIM_CODECS;
export type NbiotSimCodec = keyof Codecs;
export type NbiotSimData<C extends NbiotSimCodec> = Parameters<Codecs[C]['encodeUplink']>[0];

export interface NbiotDeviceOptions<C extends NbiotSimCodec> {
  host: string;
  /** CoAP server port of the edge (5683 by default). */
  port: number;
  imei: string;
  /** The device key, hex. */
  keyHex: string;
  codec: C;
  format?: 'cbor' | 'json';
  /** Last counter used (a real device keeps it in flash); the next uplink uses counter + 1. */
  counter?: number;
  /** Runs a received command; return an error text to report failure. */
  onCommand?: (cmd: { id: string; action: string; params: Record<string, number> }) => string | undefined;
}

export interface UplinkAnswer {
  /** CoAP response code, e.g. "2.04" or "4.03". */
  code: string;
  /** A command that arrived with this answer (already queued for confirmation). */
  command?: { id: string; action: string; params: Record<string, number> };
  /** Diagnostic text of an error response. */
  diagnostic?: string;
}

export class DownlinkAuthError extends Error {
  override readonly name = 'DownlinkAuthError';
}

export interface NbiotDevice<C extends NbiotSimCodec> {
  /** Encodes `data` with the device's codec and sends it as the next uplink. */
  report(data: NbiotSimData<C>): Promise<UplinkAnswer>;
  /** Sends a raw envelope body (for fault injection: replays, corrupt bodies). */
  sendRaw(body: Uint8Array): Promise<UplinkAnswer>;
  /** The body the last uplink sent (to replay it). */
  lastBody(): Uint8Array | undefined;
  counter(): number;
}

const mac = (key: Buffer, text: string, bytes: Uint8Array) =>
  createHmac('sha256', key).update(text).update(bytes).digest().subarray(0, 8);

export function createNbiotDevice<C extends NbiotSimCodec>(opts: NbiotDeviceOptions<C>): NbiotDevice<C> {
  const key = Buffer.from(opts.keyHex, 'hex');
  const format = opts.format ?? 'cbor';
  const codec = NBIOT_SIM_CODECS[opts.codec];
  let counter = opts.counter ?? 0;
  let last: Uint8Array | undefined;
  // the command executed since the last uplink, echoed (with its outcome) in the next one
  let toConfirm: { id: string; error?: string } | undefined;

  const envelope = (payload: Uint8Array): Uint8Array => {
    counter++;
    const ack = toConfirm;
    const m = mac(key, `${opts.imei}|${counter}|${ack?.id ?? ''}|${ack?.error ?? ''}|`, payload);
    const w: Record<string, unknown> = { c: counter };
    if (ack) w.a = ack.id;
    if (ack?.error !== undefined) w.x = ack.error;
    if (format === 'cbor') return encode({ ...w, p: Buffer.from(payload), m });
    return Buffer.from(
      JSON.stringify({ ...w, p: Buffer.from(payload).toString('hex'), m: m.toString('hex') }),
    );
  };

  const post = (body: Uint8Array, sentCounter: number) =>
    new Promise<UplinkAnswer>((resolve, reject) => {
      const req = coap.request({
        hostname: opts.host,
        port: opts.port,
        pathname: `/t/${opts.imei}`,
        method: 'POST',
        confirmable: true,
      });
      req.setOption('Content-Format', format === 'cbor' ? 'application/cbor' : 'application/json');
      req.on('response', (res) => {
        const code = res.code;
        if (!code.startsWith('2.')) {
          resolve({ code, diagnostic: res.payload.toString('utf8') });
          return;
        }
        // the command (if any) confirmed by this uplink is now done
        toConfirm = undefined;
        if (res.payload.length === 0) {
          resolve({ code });
          return;
        }
        try {
          resolve({ code, command: takeCommand(res.payload, sentCounter) });
        } catch (err) {
          reject(err);
        }
      });
      req.on('error', reject);
      req.end(Buffer.from(body));
    });

  const takeCommand = (payload: Buffer, sentCounter: number) => {
    const raw =
      format === 'cbor' ? (decode(payload) as Record<string, unknown>) : JSON.parse(payload.toString('utf8'));
    const id = String(raw.i);
    const bytes = format === 'cbor' ? (raw.d as Uint8Array) : Buffer.from(String(raw.d), 'hex');
    const got = format === 'cbor' ? Buffer.from(raw.m as Uint8Array) : Buffer.from(String(raw.m), 'hex');
    const want = mac(key, `${opts.imei}|${sentCounter}|${id}|`, bytes);
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new DownlinkAuthError(`downlink ${id}: bad MAC`);
    const decoded = codec.decodeDownlink({ bytes, fPort: 1 });
    const cmd = { id, action: decoded.data?.action ?? 'unknown', params: decoded.data?.params ?? {} };
    const error = decoded.errors.length > 0 ? decoded.errors.join('; ') : opts.onCommand?.(cmd);
    toConfirm = { id, error };
    return cmd;
  };

  return {
    report(data) {
      const payload = (codec.encodeUplink as (d: NbiotSimData<C>) => Uint8Array)(data);
      last = envelope(payload);
      return post(last, counter);
    },
    sendRaw: (body) => post(body, counter),
    lastBody: () => last,
    counter: () => counter,
  };
}
