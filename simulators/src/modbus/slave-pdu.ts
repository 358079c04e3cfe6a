import type { SimSlave } from './sim-slave.js';

/**
 * Answers one request PDU (function code + data) the way a slave does, per Modbus Application
 * Protocol v1.1b3 §6: FC 01/02/03/04 reads, 05/06 single writes, 15/16 multiple writes.
 * Returns the response PDU; errors become exception PDUs (function code | 0x80, code §7).
 */
export function answerPdu(slave: SimSlave, pdu: Buffer): Buffer {
  const fc = pdu[0]!;
  const exception = (code: number) => Buffer.from([fc | 0x80, code]);
  if (slave.fault.type === 'exception') return exception(slave.fault.code);
  const image = slave.image;
  switch (fc) {
    case 1:
    case 2: {
      if (pdu.length !== 5) return exception(3);
      const start = pdu.readUInt16BE(1);
      const count = pdu.readUInt16BE(3);
      if (count < 1 || count > 2000) return exception(3); // §6.1: 1..2000 bits
      const bits = image.read(fc === 1 ? 'coil' : 'discrete-input', start, count) as boolean[] | undefined;
      if (!bits) return exception(2);
      const out = Buffer.alloc(2 + Math.ceil(count / 8));
      out[0] = fc;
      out[1] = out.length - 2;
      bits.forEach((b, i) => {
        if (b) out[2 + (i >> 3)]! |= 1 << (i & 7);
      });
      return out;
    }
    case 3:
    case 4: {
      if (pdu.length !== 5) return exception(3);
      const start = pdu.readUInt16BE(1);
      const count = pdu.readUInt16BE(3);
      if (count < 1 || count > 125) return exception(3); // §6.3: 1..125 registers
      const words = image.read(fc === 3 ? 'holding' : 'input', start, count) as number[] | undefined;
      if (!words) return exception(2);
      const out = Buffer.alloc(2 + count * 2);
      out[0] = fc;
      out[1] = count * 2;
      words.forEach((w, i) => out.writeUInt16BE(w, 2 + i * 2));
      return out;
    }
    case 5: {
      if (pdu.length !== 5) return exception(3);
      const value = pdu.readUInt16BE(3);
      if (value !== 0xff00 && value !== 0x0000) return exception(3); // §6.5: only FF00 or 0000
      return write(slave, 'coil', pdu.readUInt16BE(1), [value === 0xff00]) ? Buffer.from(pdu) : exception(2);
    }
    case 6: {
      if (pdu.length !== 5) return exception(3);
      return write(slave, 'holding', pdu.readUInt16BE(1), [pdu.readUInt16BE(3)])
        ? Buffer.from(pdu)
        : exception(2);
    }
    case 15: {
      const count = pdu.length >= 6 ? pdu.readUInt16BE(3) : 0;
      if (count < 1 || count > 1968 || pdu[5] !== Math.ceil(count / 8) || pdu.length !== 6 + pdu[5]!)
        return exception(3);
      const bits = Array.from({ length: count }, (_, i) => ((pdu[6 + (i >> 3)]! >> (i & 7)) & 1) === 1);
      return write(slave, 'coil', pdu.readUInt16BE(1), bits) ? pdu.subarray(0, 5) : exception(2);
    }
    case 16: {
      const count = pdu.length >= 6 ? pdu.readUInt16BE(3) : 0;
      if (count < 1 || count > 123 || pdu[5] !== count * 2 || pdu.length !== 6 + count * 2)
        return exception(3);
      const words = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + i * 2));
      return write(slave, 'holding', pdu.readUInt16BE(1), words) ? pdu.subarray(0, 5) : exception(2);
    }
    default:
      return exception(1);
  }
}

function write(
  slave: SimSlave,
  table: 'coil' | 'holding',
  address: number,
  values: number[] | boolean[],
): boolean {
  if (!slave.image.write(table, address, values)) return false;
  slave.writes.push({ table, address, values });
  if (slave.writes.length > 100) slave.writes.shift();
  return true;
}
