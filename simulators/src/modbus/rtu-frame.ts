/**
 * RTU framing for the slave side (Modbus over Serial Line v1.02 §2.5.1): address, PDU, CRC-16
 * (polynomial 0xA001 reflected, initial 0xFFFF, sent low byte first).
 *
 * A pty delivers bytes in arbitrary chunks with no 3.5-character silence to mark frame ends,
 * so a request's length is derived from its function code, as a buffering master does too.
 */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function withCrc(frame: Buffer): Buffer {
  const out = Buffer.alloc(frame.length + 2);
  frame.copy(out);
  out.writeUInt16LE(crc16(frame), frame.length);
  return out;
}

/** Length of the request starting at buf[0], or undefined when more bytes are needed. */
function requestLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  switch (buf[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return 8;
    case 15:
    case 16:
      return buf.length < 7 ? undefined : 9 + buf[6]!;
    default:
      // Unknown function: assume the shortest request (address, fc, 4 data bytes, CRC) so the
      // slave can answer ILLEGAL FUNCTION, as the spec asks (§7, code 01).
      return 8;
  }
}

export type FrameScan =
  | { kind: 'frame'; frame: Buffer; rest: Buffer }
  | { kind: 'need-more'; rest: Buffer }
  /** A CRC mismatch: one byte is dropped to resynchronise on the next frame. */
  | { kind: 'garbage'; rest: Buffer };

/** Takes the first complete request off a receive buffer. */
export function takeRequest(buf: Buffer): FrameScan {
  const len = requestLength(buf);
  if (len === undefined || buf.length < len) return { kind: 'need-more', rest: buf };
  const frame = buf.subarray(0, len);
  if (crc16(frame.subarray(0, len - 2)) !== frame.readUInt16LE(len - 2))
    return { kind: 'garbage', rest: buf.subarray(1) };
  return { kind: 'frame', frame: Buffer.from(frame), rest: buf.subarray(len) };
}
