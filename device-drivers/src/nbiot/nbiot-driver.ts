import { type Socket, createSocket } from 'node:dgram';
import type { Command, CommandResult } from '@village/protocol';
import coap, { type IncomingMessage, type OutgoingMessage } from 'coap';
import { checkDeviceCodecs, resolveDeviceCodec } from '../codec-registry.js';
import type { Driver, DriverContext, DriverKind } from '../driver.js';
import { type CommandQueue, createCommandQueue } from './command-queue.js';
import { type CommandStore, openCommandStore } from './command-store.js';
import { type NbiotConfig, type NbiotDeviceConfig, nbiotConfigSchema } from './config.js';
import { type CounterStore, openCounterStore } from './counter-store.js';
import type { DeviceModel } from './device-models.js';
import { resolveSecret } from './secret-ref.js';
import {
  type BodyFormat,
  EnvelopeError,
  encodeDownlink,
  parseUplink,
  verifyUplink,
} from './uplink-envelope.js';

/**
 * NB-IoT driver: a CoAP server (RFC 7252) that takes authenticated uplinks on POST /t/{imei},
 * stores their readings durably, then answers 2.04 Changed, piggybacking a queued command.
 */
export class UnknownDeviceError extends Error {
  override readonly name = 'UnknownDeviceError';
  readonly code = 'unknown_device';
  constructor(readonly device: string) {
    super(`nbiot: no device ${JSON.stringify(device)} in this driver's config`);
  }
}

export class CommandRejectedError extends Error {
  override readonly name = 'CommandRejectedError';
  readonly code = 'command_rejected';
  constructor(
    readonly commandId: string,
    readonly reasons: string[],
  ) {
    super(`command ${commandId}: ${reasons.join('; ')}`);
  }
}

export class DeviceKeyError extends Error {
  override readonly name = 'DeviceKeyError';
  constructor(readonly device: string) {
    super(`nbiot device ${device}: key must be 32..128 hex characters (16..64 bytes)`);
  }
}

export interface NbiotDriver extends Driver {
  /** The UDP port the CoAP server is bound to (useful with port 0); throws before start. */
  port(): number;
  /** Queues a command for the device's next uplink; resolves when the device confirms it. */
  command(cmd: Command): Promise<CommandResult['data']>;
}

interface Device {
  config: NbiotDeviceConfig;
  key: Uint8Array;
  model: DeviceModel;
  /** Alarm states seen in the last uplink (rising-edge events). */
  active: Set<string>;
  /** Serialises this device's uplinks so counter checks and commands see one at a time. */
  chain: Promise<void>;
}

const PATH = /^\/t\/([0-9]{15})$/;

/** CoAP answer with an optional diagnostic payload (RFC 7252 §5.5.2). */
class CoapReply extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const nbiotDriverKind: DriverKind<typeof nbiotConfigSchema> = {
  kind: 'nbiot',
  configSchema: nbiotConfigSchema,
  create: (config, { configDir }) => createNbiotDriver(config, { configDir }),
  check: (config, { configDir }) => checkDeviceCodecs('nbiot', config.devices, configDir),
  listens: (config) => [{ key: 'port', host: config.bind, port: config.port, protocol: 'udp' }],
};

export function createNbiotDriver(config: NbiotConfig, options: { configDir?: string } = {}): NbiotDriver {
  // Built-in codecs and JavaScript codec profiles alike (codec-registry.ts), loaded from their files now.
  const models = new Map(
    config.devices.map((d) => [d.id, resolveDeviceCodec('nbiot', d, options.configDir ?? process.cwd())]),
  );
  let ctx: DriverContext | undefined;
  let socket: Socket | undefined;
  let server: ReturnType<typeof coap.createServer> | undefined;
  let counters: CounterStore | undefined;
  let boundPort: number | undefined;
  let commandStore: CommandStore | undefined;
  const queue: CommandQueue = createCommandQueue(config.maxQueuedCommands, () => ctx?.now() ?? Date.now());
  const byImei = new Map<string, Device>();
  const byId = new Map<string, Device>();

  async function handle(c: DriverContext, req: IncomingMessage, res: OutgoingMessage): Promise<void> {
    if (req.method !== 'POST') throw new CoapReply('4.05', 'bad_method', `only POST, got ${req.method}`);
    const m = PATH.exec(req.url.split('?')[0]!);
    if (!m) throw new CoapReply('4.04', 'bad_path', 'post to /t/{15-digit imei}');
    if (req.payload.length > config.maxBodyBytes) {
      throw new CoapReply('4.13', 'too_large', `body ${req.payload.length} bytes > ${config.maxBodyBytes}`);
    }
    const format = bodyFormat(req.headers['Content-Format']);
    const dev = byImei.get(m[1]!);
    // 4.01 rather than 4.04 so a scanner cannot learn which IMEIs exist.
    if (!dev) throw new CoapReply('4.01', 'unknown_device', 'unknown device or bad MAC');
    const run = dev.chain.then(() => handleUplink(c, dev, req.payload, format, res));
    dev.chain = run.catch(() => {});
    await run;
  }

  async function handleUplink(
    c: DriverContext,
    dev: Device,
    body: Buffer,
    format: BodyFormat,
    res: OutgoingMessage,
  ) {
    const imei = dev.config.imei;
    let up: ReturnType<typeof parseUplink>;
    try {
      up = parseUplink(body, format);
      verifyUplink(dev.key, imei, up);
    } catch (err) {
      if (err instanceof EnvelopeError) {
        throw err.code === 'bad_mac'
          ? new CoapReply('4.01', 'bad_mac', 'unknown device or bad MAC')
          : new CoapReply('4.00', `envelope_${err.code}`, err.message);
      }
      throw err;
    }
    const last = counters!.last(imei);
    if (up.counter <= last) {
      throw new CoapReply('4.03', 'replay', `counter ${up.counter} not above ${last}`);
    }
    const decoded = dev.model.decodeUplink({ bytes: up.payload, fPort: 1 });
    if (decoded.errors.length > 0 || decoded.data === undefined) {
      // Authentic but undecodable: the counter is spent so the device does not resend it forever.
      counters!.accept(imei, up.counter);
      settleAck(c, dev, up.ackId, up.counter, up.ackError);
      throw new CoapReply('4.00', 'codec_error', `payload: ${decoded.errors.join('; ')}`);
    }
    if (decoded.warnings.length > 0)
      c.log.warn({ device: dev.config.id, warnings: decoded.warnings }, 'nbiot codec warnings');
    const { readings, events } = dev.model.toTelemetry(decoded.data, dev.config.id, c.now(), dev.active);
    try {
      // Events first: they take their own lane and must not wait behind telemetry.
      for (const e of events) await c.emitEvent(e);
      if (readings.length > 0) await c.emitReadings(readings);
    } catch (err) {
      c.log.error({ device: dev.config.id, err: (err as Error).message }, 'nbiot: outbox refused an uplink');
      // Not acknowledged and counter not spent: the device retries the same uplink.
      throw new CoapReply('5.03', 'emit_failed', 'edge storage unavailable, retry later');
    }
    counters!.accept(imei, up.counter);
    settleAck(c, dev, up.ackId, up.counter, up.ackError);
    const cmd = queue.next(dev.config.id, up.counter);
    res.code = '2.04';
    if (cmd) {
      res.setOption('Content-Format', format === 'cbor' ? 'application/cbor' : 'application/json');
      res.end(Buffer.from(encodeDownlink(dev.key, imei, up.counter, cmd, format)));
    } else {
      res.end();
    }
  }

  function settleAck(c: DriverContext, dev: Device, id: string | undefined, counter: number, error?: string) {
    if (id === undefined) return;
    if (!queue.confirm(dev.config.id, id, counter, error)) {
      c.log.debug({ device: dev.config.id, id }, 'nbiot: device echoed a command id that is not waiting');
    }
  }

  return {
    inventory: () =>
      config.devices.map((d) => ({
        id: d.id,
        kind: `nbiot-${models.get(d.id)!.name}`,
        driver: 'nbiot',
        metrics: models.get(d.id)!.metrics,
      })),

    async start(c) {
      ctx = c;
      for (const d of config.devices) {
        const hex = resolveSecret(d.key, `devices[${d.id}].key`);
        if (!/^([0-9a-fA-F]{2}){16,64}$/.test(hex)) throw new DeviceKeyError(d.id);
        const dev: Device = {
          config: d,
          key: Buffer.from(hex, 'hex'),
          model: models.get(d.id)!,
          active: new Set(),
          chain: Promise.resolve(),
        };
        byImei.set(d.imei, dev);
        byId.set(d.id, dev);
      }
      counters = openCounterStore(c.dataDir);
      commandStore = openCommandStore(c.dataDir, () => c.now());
      queue.open(commandStore);
      const sock = createSocket('udp4');
      socket = sock;
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(config.port, config.bind, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      boundPort = sock.address().port;
      sock.on('error', (err) => c.fail(err));
      const srv = coap.createServer({ type: 'udp4' });
      server = srv;
      srv.on('request', (req: IncomingMessage, res: OutgoingMessage) => {
        handle(c, req, res).catch((err: unknown) => {
          const reply = err instanceof CoapReply ? err : new CoapReply('5.00', 'internal', 'internal error');
          if (!(err instanceof CoapReply))
            c.log.error({ err: (err as Error).message }, 'nbiot: uplink handler failed');
          c.countError(`nbiot_${reply.reason}`);
          c.log.warn(
            {
              from: req.rsinfo.address,
              url: req.url,
              code: reply.code,
              reason: reply.reason,
              detail: reply.message,
            },
            'nbiot: uplink refused',
          );
          res.code = reply.code;
          res.end(reply.message);
        });
      });
      srv.on('error', (err: Error) => {
        c.countError('nbiot_socket');
        c.log.warn({ err: err.message }, 'nbiot: CoAP server error');
      });
      srv.listen(sock);
      c.log.info(
        { port: boundPort, bind: config.bind, devices: config.devices.length },
        'nbiot: CoAP server listening',
      );
    },

    async stop() {
      // Waiters are told; the commands themselves stay on disk and go out after the next start.
      queue.clear(new Error('nbiot driver stopped'));
      commandStore?.close();
      commandStore = undefined;
      try {
        server?.close();
        socket?.close();
      } catch {
        // already closed
      }
      counters?.close();
      for (const m of models.values()) m.dispose();
      server = undefined;
      socket = undefined;
      counters = undefined;
      ctx?.log.debug({}, 'nbiot: stopped');
    },

    async command(cmd: Command): Promise<CommandResult['data']> {
      const dev = byId.get(cmd.device);
      if (!dev) throw new UnknownDeviceError(cmd.device);
      const enc = dev.model.encodeDownlink({ data: { action: cmd.action, params: cmd.params } });
      if (enc.errors.length > 0 || !enc.bytes) throw new CommandRejectedError(cmd.id, enc.errors);
      const now = ctx?.now() ?? Date.now();
      const timeout = Math.min(
        config.commandTimeoutMs,
        cmd.expiresAt === undefined ? Number.POSITIVE_INFINITY : cmd.expiresAt - now,
      );
      if (timeout <= 0) throw new CommandRejectedError(cmd.id, ['already expired']);
      return queue.enqueue(cmd.device, cmd.id, Uint8Array.from(enc.bytes), timeout);
    },

    port() {
      if (boundPort === undefined) throw new Error('nbiot driver not started');
      return boundPort;
    },
  };
}

function bodyFormat(contentFormat: unknown): BodyFormat {
  // No Content-Format: CBOR, the format NB-IoT devices are documented to send.
  if (contentFormat === undefined || contentFormat === 'application/cbor') return 'cbor';
  if (contentFormat === 'application/json') return 'json';
  throw new CoapReply(
    '4.15',
    'bad_content_format',
    `Content-Format ${String(contentFormat)}: use 60 (CBOR) or 50 (JSON)`,
  );
}
