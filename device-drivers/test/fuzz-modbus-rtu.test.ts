// The virtual serial cable and the RTU framing helpers of the simulators (test-only import).
import { FUZZ_SEED } from '@village/test-kit';
import fc from 'fast-check';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PtyPair, openPtyPair, takeRequest, withCrc } from '../../simulators/src/modbus/index.js';
import { classifyFailure } from '../src/modbus/modbus-errors.js';
import { type ModbusLink, createModbusLink } from '../src/modbus/modbus-link.js';

/**
 * Modbus RTU answers under fuzzing, over a real serial line (a socat pty pair). modbus-serial
 * frames and checks the answers; the driver sees them through the link. A slave written here
 * answers each read with a fuzzed answer: random bytes, a truncation, a mutation of the valid
 * frame with its CRC left wrong, or a mutated PDU with a correct CRC (which reaches the
 * content checks). Every read must give the right number of registers or a failure the driver
 * classifies (exception, timeout, bad CRC, bad frame); never an unclassified error or a crash,
 * and the line must still work afterwards.
 */
const UNIT = 7;
const REGS = [0x0102, 0xfffe, 0x8000, 0x0007];
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const TIMEOUT_MS = 80;

const validAnswer = (unit = UNIT) => {
  const pdu = Buffer.alloc(2 + REGS.length * 2);
  pdu[0] = 3;
  pdu[1] = REGS.length * 2;
  REGS.forEach((r, i) => pdu.writeUInt16BE(r, 2 + i * 2));
  return withCrc(Buffer.concat([Buffer.from([unit]), pdu]));
};

type Transform = (valid: Buffer) => Buffer;
const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
const transform: fc.Arbitrary<Transform> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => () => Buffer.from(b)),
  fc.nat().map((n) => (v: Buffer) => v.subarray(0, n % v.length)),
  fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => (v: Buffer) => {
    const out = Buffer.from(v);
    for (const m of ms) out[m.at % out.length] = m.byte;
    return out;
  }),
  // structure-aware: a mutated body with a good CRC, so modbus-serial checks the content
  fc
    .tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.nat({ max: 6 }))
    .map(([ms, cut]) => (v: Buffer) => {
      const body = Buffer.from(v.subarray(0, v.length - 2 - Math.min(cut, v.length - 3)));
      for (const m of ms) body[m.at % body.length] = m.byte;
      return withCrc(body);
    }),
  fc.constant((v: Buffer) =>
    Buffer.from([UNIT, 0x83, 0x02, ...withCrc(Buffer.from([UNIT, 0x83, 0x02])).subarray(3)]),
  ),
  fc.constant(() => validAnswer(UNIT + 1)), // another unit's answer
);

describe('Modbus RTU answers over a pty (fuzz)', () => {
  let pty: PtyPair;
  let slave: SerialPort;
  let link: ModbusLink;
  let next: Transform = (v) => v;

  beforeAll(async () => {
    pty = await openPtyPair();
    slave = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => slave.open((err) => (err ? reject(err) : resolve())));
    let buf: Buffer = Buffer.alloc(0);
    slave.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const scan = takeRequest(buf);
        buf = scan.rest;
        if (scan.kind === 'need-more') break;
        if (scan.kind === 'frame') {
          const out = next(validAnswer());
          if (out.length > 0) slave.write(out);
        }
      }
    });
    link = createModbusLink(
      { type: 'rtu', path: pty.a, baudRate: 115200, parity: 'none', dataBits: 8, stopBits: 1, gapMs: 0 },
      TIMEOUT_MS,
    );
  });
  afterAll(async () => {
    await link?.close();
    await new Promise<void>((r) => (slave?.isOpen ? slave.close(() => r()) : r()));
    await pty?.close();
  });

  it(
    'every fuzzed answer gives the registers or a classified failure; the line still works after',
    { timeout: 60_000 },
    async () => {
      const read = () => link.session(UNIT, (io) => io.read('holding', 0, REGS.length));
      next = (v) => v;
      expect(await read()).toEqual(REGS);
      // Found by this test: a byte count larger than the data, CRC intact, made modbus-serial
      // return the CRC bytes as a fifth register (+2) or read past the frame (+4, a RangeError
      // ERR_OUT_OF_RANGE). Both are bad frames.
      for (const extra of [2, 4]) {
        next = (v) => {
          const body = Buffer.from(v.subarray(0, v.length - 2));
          body[2] = REGS.length * 2 + extra;
          return withCrc(body);
        };
        const lying = await read().then(
          (words) => ({ kind: 'ok', message: String(words) }),
          (err: unknown) => classifyFailure(err),
        );
        expect(lying, `byte count +${extra}`).toMatchObject({ kind: 'bad_frame' });
      }
      const kinds = new Map<string, number>();
      const transforms = fc.sample(transform, { seed: FUZZ_SEED, numRuns: RUNS });
      for (const t of transforms) {
        next = t;
        try {
          const words = (await read()) as number[];
          expect(words).toHaveLength(REGS.length);
          for (const w of words) expect(Number.isInteger(w) && w >= 0 && w <= 0xffff).toBe(true);
          kinds.set('ok', (kinds.get('ok') ?? 0) + 1);
        } catch (err) {
          const f = classifyFailure(err);
          if (f.kind === 'other') throw new Error(`unclassified failure: ${f.message}`, { cause: err });
          kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
        }
      }
      // the fuzz reached each way an answer can fail
      for (const k of ['timeout', 'bad_crc', 'exception']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);
      next = (v) => v;
      expect(await read()).toEqual(REGS);
    },
  );
});
