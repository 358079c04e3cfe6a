/**
 * Rebuilds the 32-bit uplink frame counter from the 16 bits sent on air (LoRaWAN 1.0.4 §4.3.1.5):
 * the device's counter only grows, so the candidate is the smallest value ≥ the last one seen
 * whose low 16 bits match. When the low bits are below the last one's, the counter rolled over.
 * A repeated counter yields the last value itself, which the caller refuses as a replay; an
 * older frame from the previous epoch cannot pass the MIC, which covers all 32 bits.
 *
 * `last` is the last accepted FCntUp, or -1 when none was accepted in this session.
 */
export function fullFCnt(last: number, fcnt16: number): number {
  if (last < 0) return fcnt16;
  const high = last - (last % 0x10000);
  const candidate = high + fcnt16;
  if (candidate >= last) return candidate;
  return candidate + 0x10000;
}

/** The two upper bytes of a 32-bit counter, as lora-packet wants them for MIC and decryption. */
export function fcntMsb(fcnt: number): Buffer {
  const b = Buffer.alloc(2);
  // lora-packet appends these bytes as they are after the little-endian low half (B0 and Ai blocks).
  b.writeUInt16LE(Math.floor(fcnt / 0x10000) & 0xffff);
  return b;
}
