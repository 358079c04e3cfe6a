import { SerialPort } from 'serialport';
import { takeRequest, withCrc } from './rtu-frame.js';
import { type SimSlave, type SlaveSpec, createSimSlave } from './sim-slave.js';
import { answerPdu } from './slave-pdu.js';

/**
 * Several Modbus RTU slaves sharing one serial line, as on an RS-485 bus: every slave sees
 * every request and only the addressed one answers (Modbus over Serial Line v1.02 §2.2).
 * Our own framing rather than modbus-serial's ServerSerial, which answers as one unit id per
 * port and cannot be made to send a corrupted frame.
 */
export interface RtuBusSimulator {
  readonly path: string;
  readonly slaves: ReadonlyMap<number, SimSlave>;
  /** Request bytes dropped because their CRC did not match. */
  readonly garbageBytes: number;
  stop(): Promise<void>;
}

export interface RtuBusOptions {
  /** Serial device (one end of a socat pty pair in tests). */
  path: string;
  /** Bits per second; 9600 is what most of these sensors ship with. */
  baudRate?: number;
  slaves: SlaveSpec[];
}

/** Receive buffer bound, bytes: a request is at most 256 bytes (§2.5.1). */
const MAX_BUFFER = 512;

export async function startRtuBusSimulator(options: RtuBusOptions): Promise<RtuBusSimulator> {
  const slaves = new Map<number, SimSlave>(options.slaves.map((s) => [s.unitId, createSimSlave(s)]));
  const port = new SerialPort({ path: options.path, baudRate: options.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let buf: Buffer = Buffer.alloc(0);
  let garbageBytes = 0;

  const serve = (frame: Buffer) => {
    const unitId = frame[0]!;
    const slave = slaves.get(unitId);
    if (!slave) return; // another device on the bus, or nobody: stay silent
    slave.requests++;
    const pdu = answerPdu(slave, frame.subarray(1, frame.length - 2));
    if (unitId === 0 || slave.fault.type === 'silent') return; // broadcasts get no reply (§2.1)
    const replyUnit = slave.fault.type === 'wrong-unit' ? (slave.fault.unitId ?? (unitId % 247) + 1) : unitId;
    const reply = withCrc(Buffer.concat([Buffer.from([replyUnit]), pdu]));
    if (slave.fault.type === 'bad-crc') reply[reply.length - 1]! ^= 0xff;
    port.write(reply);
  };

  port.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length > MAX_BUFFER) {
      garbageBytes += buf.length - MAX_BUFFER;
      buf = buf.subarray(buf.length - MAX_BUFFER);
    }
    for (;;) {
      const scan = takeRequest(buf);
      buf = scan.rest;
      if (scan.kind === 'need-more') break;
      if (scan.kind === 'garbage') garbageBytes++;
      else serve(scan.frame);
    }
  });
  port.on('error', () => undefined); // the pty may vanish under us at teardown

  return {
    path: options.path,
    slaves,
    get garbageBytes() {
      return garbageBytes;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) resolve();
        else port.close(() => resolve());
      }),
  };
}
