import { z } from 'zod';
import { LorawanError } from './errors.js';

/**
 * Semtech UDP packet-forwarder protocol, version 2 (lora_gateway/packet_forwarder PROTOCOL.TXT).
 * Every datagram starts: protocol version (1 byte, 2) | random token (2 bytes) | identifier (1 byte),
 * then, depending on the identifier, the gateway EUI (8 bytes) and/or a JSON object.
 *
 * Version 1 (PROTOCOL.TXT v1.0-v1.2, older packet forwarders still in the field) has the same
 * layout for PUSH_DATA, PUSH_ACK, PULL_DATA, PULL_ACK and PULL_RESP, but no TX_ACK, and its
 * PULL_RESP bytes 1-2 are unused. Both are accepted; every answer carries the version received.
 */
export const PROTOCOL_VERSION = 2;
export const SUPPORTED_VERSIONS = [1, 2] as const;
export type ProtocolVersion = (typeof SUPPORTED_VERSIONS)[number];

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

export type SemtechPacket = { version: ProtocolVersion } & (
  | { type: 'PUSH_DATA'; token: number; gatewayEui: string; body: Uint8Array }
  | { type: 'PULL_DATA'; token: number; gatewayEui: string }
  | { type: 'TX_ACK'; token: number; gatewayEui: string; body: Uint8Array }
  | { type: 'PUSH_ACK' | 'PULL_ACK'; token: number }
  | { type: 'PULL_RESP'; token: number; body: Uint8Array }
);

/** Splits a datagram into header fields; the JSON body is left as bytes (parsed by `parsePushData`). */
export function parseDatagram(msg: Uint8Array): SemtechPacket {
  if (msg.length < 4)
    throw new LorawanError('udp_malformed', `datagram of ${msg.length} bytes, at least 4 expected`);
  const version = msg[0]!;
  if (version !== 1 && version !== 2) {
    throw new LorawanError(
      'udp_unknown_version',
      `protocol version ${version}, expected ${SUPPORTED_VERSIONS.join(' or ')}`,
    );
  }
  const token = (msg[1]! << 8) | msg[2]!;
  const id = msg[3]!;
  if (version === 1 && id === PacketType.TX_ACK)
    throw new LorawanError('udp_unknown_type', 'TX_ACK (0x05) does not exist in protocol version 1');
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
      return { version, type: 'PUSH_DATA', token, gatewayEui: eui(), body: msg.subarray(12) };
    case PacketType.PULL_DATA:
      return { version, type: 'PULL_DATA', token, gatewayEui: eui() };
    case PacketType.TX_ACK:
      return { version, type: 'TX_ACK', token, gatewayEui: eui(), body: msg.subarray(12) };
    case PacketType.PUSH_ACK:
      return { version, type: 'PUSH_ACK', token };
    case PacketType.PULL_ACK:
      return { version, type: 'PULL_ACK', token };
    case PacketType.PULL_RESP:
      return { version, type: 'PULL_RESP', token, body: msg.subarray(4) };
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

function header(token: number, id: number, version: ProtocolVersion): Buffer {
  return Buffer.from([version, (token >> 8) & 0xff, token & 0xff, id]);
}

/** Answers carry the version of the datagram they answer. */
export function buildPushAck(token: number, version: ProtocolVersion = PROTOCOL_VERSION): Buffer {
  return header(token, PacketType.PUSH_ACK, version);
}

export function buildPullAck(token: number, version: ProtocolVersion = PROTOCOL_VERSION): Buffer {
  return header(token, PacketType.PULL_ACK, version);
}

/** In version 1 the token bytes are unused (sent as 0) and no TX_ACK will come back. */
export function buildPullResp(
  token: number,
  txpk: Txpk,
  version: ProtocolVersion = PROTOCOL_VERSION,
): Buffer {
  return Buffer.concat([
    header(version === 1 ? 0 : token, PacketType.PULL_RESP, version),
    Buffer.from(JSON.stringify({ txpk })),
  ]);
}
