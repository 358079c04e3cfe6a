import net from 'node:net';
import { type SimSlave, type SlaveSpec, createSimSlave } from './sim-slave.js';
import { answerPdu } from './slave-pdu.js';

/**
 * A Modbus TCP server (Modbus Messaging on TCP/IP v1.0b §3.1: MBAP header of transaction id,
 * protocol id 0, length, unit id, then the PDU) answering for several unit ids, as a
 * TCP-to-RS-485 gateway does. A unit id with no slave gets exception 0x0B, GATEWAY TARGET
 * DEVICE FAILED TO RESPOND. Faults: exception, silent and wrong-unit; bad-crc has no meaning
 * over TCP, which carries no CRC, and is ignored.
 */
export interface TcpSimulator {
  readonly host: string;
  readonly port: number;
  readonly slaves: ReadonlyMap<number, SimSlave>;
  /** Connections closed because their bytes were not Modbus TCP. */
  readonly badFrames: number;
  stop(): Promise<void>;
}

export interface TcpSimOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  slaves: SlaveSpec[];
}

export async function startTcpSimulator(options: TcpSimOptions): Promise<TcpSimulator> {
  const slaves = new Map<number, SimSlave>(options.slaves.map((s) => [s.unitId, createSimSlave(s)]));
  const sockets = new Set<net.Socket>();
  let badFrames = 0;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 7) {
        const length = buf.readUInt16BE(4);
        // length counts unit id + PDU; a PDU is 1..253 bytes (spec §4.1).
        if (buf.readUInt16BE(2) !== 0 || length < 2 || length > 254) {
          badFrames++;
          socket.destroy();
          return;
        }
        if (buf.length < 6 + length) break;
        const frame = buf.subarray(0, 6 + length);
        buf = buf.subarray(6 + length);
        const unitId = frame[6]!;
        const slave = slaves.get(unitId);
        let pdu: Buffer;
        let replyUnit = unitId;
        if (!slave) {
          pdu = Buffer.from([frame[7]! | 0x80, 0x0b]);
        } else {
          slave.requests++;
          pdu = answerPdu(slave, frame.subarray(7));
          if (slave.fault.type === 'silent') continue;
          if (slave.fault.type === 'wrong-unit') replyUnit = slave.fault.unitId ?? (unitId % 247) + 1;
        }
        const reply = Buffer.alloc(7 + pdu.length);
        reply.writeUInt16BE(frame.readUInt16BE(0), 0);
        reply.writeUInt16BE(0, 2);
        reply.writeUInt16BE(pdu.length + 1, 4);
        reply[6] = replyUnit;
        pdu.copy(reply, 7);
        socket.write(reply);
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    host,
    port: address.port,
    slaves,
    get badFrames() {
      return badFrames;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
