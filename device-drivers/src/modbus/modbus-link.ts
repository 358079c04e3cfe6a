import { setTimeout as sleep } from 'node:timers/promises';
import modbusSerial from 'modbus-serial';
import { QueueClosedError, createFrameQueue } from './frame-queue.js';
import type { ModbusTransportConfig } from './modbus-config.js';
import type { Table } from './profile-schema.js';

/**
 * One Modbus master on one port (a serial line or a TCP connection), shared by every device on
 * it. Exchanges happen inside sessions: a session holds the port for a run of requests to one
 * device, and sessions go through a FrameQueue, so requests never overlap and keep the gap.
 * A device's whole poll cycle is one session, so another device waits for at most one of them,
 * and a session ends at its first unanswered request, so that wait is at most one timeout.
 * The port is (re)opened lazily, so a gateway that restarts or a USB adapter that comes back is
 * picked up without restarting the driver.
 */
export interface DeviceIo {
  read(table: Table, start: number, count: number): Promise<number[] | boolean[]>;
  writeCoil(address: number, value: boolean): Promise<void>;
  writeRegisters(address: number, words: number[]): Promise<void>;
}

export interface ModbusLink {
  session<T>(unitId: number, body: (io: DeviceIo) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// modbus-serial is CommonJS (`module.exports = ModbusRTU`) but its typings declare `export default`,
// which NodeNext reads as a namespace: the runtime default export is the class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

export function createModbusLink(transport: ModbusTransportConfig, timeoutMs: number): ModbusLink {
  const queue = createFrameQueue(transport.gapMs);
  let client: Client | undefined;
  let closed = false;

  const open = async (): Promise<Client> => {
    if (closed) throw new QueueClosedError();
    if (client?.isOpen) return client;
    if (client) await closeClient(client);
    client = undefined;
    const c = new ModbusRTU();
    const connecting =
      transport.type === 'tcp'
        ? c.connectTCP(transport.host, { port: transport.port })
        : c.connectRTUBuffered(transport.path, {
            baudRate: transport.baudRate,
            parity: transport.parity,
            dataBits: transport.dataBits,
            stopBits: transport.stopBits,
          });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connecting,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Port Not Open: connect timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      await closeClient(c);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (closed) {
      await closeClient(c); // stop() ran while we were connecting
      throw new QueueClosedError();
    }
    c.setTimeout(timeoutMs);
    client = c;
    return c;
  };

  return {
    session: (unitId, body) =>
      queue.run(async () => {
        const c = await open();
        let frames = 0;
        const exchange = async <T>(fn: () => Promise<T>): Promise<T> => {
          if (closed) throw new QueueClosedError();
          if (frames++ > 0 && transport.gapMs > 0) await sleep(transport.gapMs);
          c.setID(unitId);
          discardStaleInput(c);
          return fn();
        };
        return body({
          read: (table, start, count) =>
            exchange(async () => {
              switch (table) {
                case 'coil':
                  return bits(count, (await c.readCoils(start, count)).data);
                case 'discrete-input':
                  return bits(count, (await c.readDiscreteInputs(start, count)).data);
                case 'holding':
                  return registers(count, (await c.readHoldingRegisters(start, count)).data);
                case 'input':
                  return registers(count, (await c.readInputRegisters(start, count)).data);
              }
            }),
          writeCoil: (address, value) =>
            exchange(async () => {
              await c.writeCoil(address, value);
            }),
          // FC 16 even for one register: it writes a 32/64-bit value in one go.
          writeRegisters: (address, words) =>
            exchange(async () => {
              await c.writeRegisters(address, words);
            }),
        });
      }),
    async close() {
      if (closed) return;
      closed = true;
      queue.close();
      if (client) await closeClient(client);
      client = undefined;
    },
  };
}

/**
 * modbus-serial takes an answer's byte count on trust: a count larger than asked (CRC intact)
 * returns extra "registers" read from the CRC bytes (found by fuzz-modbus-rtu.test.ts). The
 * message is modbus-serial's own wording for a length fault, so classifyFailure calls it bad_frame.
 */
function registers(count: number, data: number[]): number[] {
  if (data.length !== count)
    throw new Error(`Data length error, expected ${count} registers, got ${data.length}`);
  return data;
}

/** Bits come in whole bytes (padded with zeros); fewer than asked is a length fault too. */
function bits(count: number, data: boolean[]): boolean[] {
  if (data.length < count) throw new Error(`Data length error, expected ${count} bits, got ${data.length}`);
  return data.slice(0, count);
}

/**
 * On a half-duplex line nothing received before our request can be its answer: a late reply to
 * a timed-out request, or a reply carrying another unit id, would otherwise stay in
 * modbus-serial's RTU buffer and could be matched to the next request. The buffer is private
 * (modbus-serial 8.0.25 RTUBufferedPort._buffer), so this checks its shape before touching it.
 */
function discardStaleInput(c: Client): void {
  const port = (c as unknown as { _port?: { _buffer?: unknown } })._port;
  if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
}

function closeClient(c: Client): Promise<void> {
  return new Promise((resolve) => {
    try {
      if (!c.isOpen) {
        resolve();
        return;
      }
      c.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
