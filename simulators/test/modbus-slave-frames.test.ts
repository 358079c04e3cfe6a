import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { describe, expect, it } from 'vitest';
import { answerPdu, crc16, createSimSlave, takeRequest, withCrc } from '../src/modbus/index.js';

/** The simulator's slave side on bad input: framing (RTU) and PDU handling (both transports). */
const slave = () =>
  createSimSlave({ unitId: 1, profile: loadProfileFile(shippedProfilePath('pm25-sensor')) });
const read = (fc: number, start: number, count: number) =>
  Buffer.from([fc, start >> 8, start & 0xff, count >> 8, count & 0xff]);

describe('RTU request framing', () => {
  it('computes the Modbus CRC (Serial Line v1.02 appendix B example)', () => {
    // 01 03 00 00 00 01 → CRC 0x0A84, sent 84 0A
    expect(crc16(Buffer.from([1, 3, 0, 0, 0, 1]))).toBe(0x0a84);
    expect(withCrc(Buffer.from([1, 3, 0, 0, 0, 1])).subarray(6)).toEqual(Buffer.from([0x84, 0x0a]));
  });

  it('waits for the rest of a truncated frame', () => {
    const frame = withCrc(Buffer.from([1, 16, 0, 0, 0, 2, 4, 0, 1, 0, 2]));
    expect(takeRequest(frame.subarray(0, 5)).kind).toBe('need-more');
    expect(takeRequest(frame.subarray(0, frame.length - 1)).kind).toBe('need-more');
    const whole = takeRequest(frame);
    expect(whole.kind).toBe('frame');
  });

  it('drops garbage byte by byte and finds the next good frame', () => {
    const good = withCrc(Buffer.from([2, 3, 0, 0, 0, 4]));
    let buf: Buffer = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x99, 0x42]), good]);
    let garbage = 0;
    for (;;) {
      const scan = takeRequest(buf);
      buf = scan.rest;
      if (scan.kind === 'garbage') garbage++;
      else if (scan.kind === 'frame') {
        expect(scan.frame).toEqual(good);
        break;
      } else throw new Error('lost the good frame');
    }
    expect(garbage).toBe(7);
    expect(buf.length).toBe(0);
  });
});

describe('slave PDU answers', () => {
  it('answers reads inside the profile map and refuses reads outside it', () => {
    const s = slave();
    s.image.set('pm2_5', 35);
    expect(answerPdu(s, read(3, 0, 2))).toEqual(Buffer.from([3, 4, 0, 35, 0, 0]));
    expect(answerPdu(s, read(3, 6, 4))).toEqual(Buffer.from([0x83, 2])); // past the map: ILLEGAL DATA ADDRESS
    expect(answerPdu(s, read(4, 0, 1))).toEqual(Buffer.from([0x84, 2])); // no input registers in this profile
  });

  it('refuses bad counts, truncated and oversized PDUs, and unknown functions', () => {
    const s = slave();
    expect(answerPdu(s, read(3, 0, 0))).toEqual(Buffer.from([0x83, 3]));
    expect(answerPdu(s, read(3, 0, 126))).toEqual(Buffer.from([0x83, 3]));
    expect(answerPdu(s, Buffer.from([3, 0, 0]))).toEqual(Buffer.from([0x83, 3]));
    expect(answerPdu(s, Buffer.concat([read(3, 0, 1), Buffer.alloc(200)]))).toEqual(Buffer.from([0x83, 3]));
    expect(answerPdu(s, Buffer.from([16, 0, 0, 0, 2, 4, 0, 1]))).toEqual(Buffer.from([0x90, 3])); // byte count lies
    expect(answerPdu(s, Buffer.from([5, 0, 0, 0x12, 0x34]))).toEqual(Buffer.from([0x85, 3])); // coil value not FF00/0000
    expect(answerPdu(s, Buffer.from([0x2b, 0x0e, 1, 0]))).toEqual(Buffer.from([0xab, 1]));
    expect(s.writes).toEqual([]);
  });

  it('answers with the injected exception', () => {
    const s = slave();
    s.fault = { type: 'exception', code: 6 };
    expect(answerPdu(s, read(3, 0, 1))).toEqual(Buffer.from([0x83, 6]));
  });
});
