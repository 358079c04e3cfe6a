import { z } from 'zod';
import { LorawanError } from './errors.js';

/**
 * Semtech UDP packet-forwarder protocol, version 2 (lora_gateway/packet_forwarder PROTOCOL.TXT).
 * Every datagram starts: protocol version (1 byte, 2) | random token (2 bytes) | identifier (1 byte),
 * then, depending on the identifier, the gateway EUI (8 bytes) and/or a JSON object.
 */
export const PROTOCOL_VERSION = 2;

export const PacketType = {
  PUSH_DATA: 0x00,
  PUSH_ACK: 0x01,
  PULL_DATA: 0x02,
  PULL_RESP: 0x03,
  PULL_ACK: 0x04,
  TX_ACK: 0x05,
} as const;

/** §3.2: one received LoRa packet as reported by the gateway. Only LoRa modulation is handled. */
export const rxpkSchema = z.object({
  /** Internal concentrator counter at end of reception, µs, wraps at 2^32. */
  tmst: z.number().int().min(0).max(0xffffffff),
  /** Centre frequency, MHz. */
  freq: z.number().positive(),
  chan: z.number().int().min(0).optional(),
  rfch: z.number().int().min(0).optional(),
  /** CRC status: 1 OK, -1 failed, 0 no CRC. */
  stat: z.number().int(),
  modu: z.literal('LORA'),
  /** LoRa datarate identifier, e.g. SF7BW125. */
  datr: z.string().regex(/^SF\d{1,2}BW\d{3}$/),
  codr: z.string().optional(),
  /** RSSI, dBm. */
  rssi: z.number(),
  /** LoRa SNR, dB. */
  lsnr: z.number(),
  size: z.number().int().min(0).max(255),
  /** PHYPayload, base64. */
  data: z.string().max(400),
  time: z.string().optional(),
});
export type Rxpk = z.infer<typeof rxpkSchema>;

/** §4: gateway status report. All fields optional in practice. */
export const statSchema = z
  .object({
    time: z.string(),
    lati: z.number(),
    long: z.number(),
    alti: z.number(),
    rxnb: z.number(),
    rxok: z.number(),
    rxfw: z.number(),
    ackr: z.number(),
    dwnb: z.number(),
    txnb: z.number(),
  })
  .partial();
export type GatewayStat = z.infer<typeof statSchema>;

const pushDataBodySchema = z.object({
  rxpk: z.array(z.unknown()).max(256).optional(),
  stat: statSchema.optional(),
});

/** §6: what to transmit, sent in PULL_RESP. */
export interface Txpk {
  /** Send immediately (class C); false for class A, which uses `tmst`. */
  imme: boolean;
  /** Concentrator counter value at which to send, µs. */
  tmst?: number;
  /** MHz. */
  freq: number;
  rfch: number;
  /** TX power, dBm. */
  powe: number;
  modu: 'LORA';
  datr: string;
  codr: string;
  /** Inverted polarity: true for downlinks to end devices. */
  ipol: boolean;
  size: number;
  data: string;
}

export type SemtechPacket =
  | { type: 'PUSH_DATA'; token: number; gatewayEui: string; body: Uint8Array }
  | { type: 'PULL_DATA'; token: number; gatewayEui: string }
  | { type: 'TX_ACK'; token: number; gatewayEui: string; body: Uint8Array }
  | { type: 'PUSH_ACK' | 'PULL_ACK'; token: number }
  | { type: 'PULL_RESP'; token: number; body: Uint8Array };

/** Splits a datagram into header fields; the JSON body is left as bytes (parsed by `parsePushData`). */
export function parseDatagram(msg: Uint8Array): SemtechPacket {
  if (msg.length < 4)
    throw new LorawanError('udp_malformed', `datagram of ${msg.length} bytes, at least 4 expected`);
  if (msg[0] !== PROTOCOL_VERSION) {
    throw new LorawanError('udp_unknown_version', `protocol version ${msg[0]}, expected ${PROTOCOL_VERSION}`);
  }
  const token = (msg[1]! << 8) | msg[2]!;
  const id = msg[3]!;
  const eui = () => {
    if (msg.length < 12)
      throw new LorawanError(
        'udp_malformed',
        `identifier ${id} needs a gateway EUI, got ${msg.length} bytes`,
      );
    return Buffer.from(msg.subarray(4, 12)).toString('hex');
  };
  switch (id) {
    case PacketType.PUSH_DATA:
      return { type: 'PUSH_DATA', token, gatewayEui: eui(), body: msg.subarray(12) };
    case PacketType.PULL_DATA:
      return { type: 'PULL_DATA', token, gatewayEui: eui() };
    case PacketType.TX_ACK:
      return { type: 'TX_ACK', token, gatewayEui: eui(), body: msg.subarray(12) };
    case PacketType.PUSH_ACK:
      return { type: 'PUSH_ACK', token };
    case PacketType.PULL_ACK:
      return { type: 'PULL_ACK', token };
    case PacketType.PULL_RESP:
      return { type: 'PULL_RESP', token, body: msg.subarray(4) };
    default:
      throw new LorawanError('udp_unknown_type', `packet identifier 0x${id.toString(16)}`);
  }
}

function parseJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw new LorawanError('push_data_bad_json', `${what} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * Parses a PUSH_DATA body. Each rxpk is returned raw here and validated one by one by the caller,
 * so one malformed rxpk does not lose its good neighbours.
 */
export function parsePushData(body: Uint8Array): { rxpk: unknown[]; stat?: GatewayStat } {
  const parsed = pushDataBodySchema.safeParse(parseJson(body, 'PUSH_DATA body'));
  if (!parsed.success) {
    throw new LorawanError(
      'push_data_bad_json',
      `PUSH_DATA body has the wrong shape: ${parsed.error.issues[0]?.message}`,
    );
  }
  return { rxpk: parsed.data.rxpk ?? [], stat: parsed.data.stat };
}

/** TX_ACK body: `{"txpk_ack":{"error":"NONE"}}` (an empty body also means success, §5.2 of v2). */
export function parseTxAck(body: Uint8Array): { error: string } {
  if (body.length === 0) return { error: 'NONE' };
  const json = parseJson(body, 'TX_ACK body') as { txpk_ack?: { error?: unknown } } | null;
  const error = json?.txpk_ack?.error;
  return { error: typeof error === 'string' ? error : 'NONE' };
}

function header(token: number, id: number): Buffer {
  return Buffer.from([PROTOCOL_VERSION, (token >> 8) & 0xff, token & 0xff, id]);
}

export function buildPushAck(token: number): Buffer {
  return header(token, PacketType.PUSH_ACK);
}

export function buildPullAck(token: number): Buffer {
  return header(token, PacketType.PULL_ACK);
}

export function buildPullResp(token: number, txpk: Txpk): Buffer {
  return Buffer.concat([header(token, PacketType.PULL_RESP), Buffer.from(JSON.stringify({ txpk }))]);
}
