import type { Command, CommandResult, InventoryEntry } from '@village/protocol';
import { checkDeviceCodecs, resolveDeviceCodec } from '../codec-registry.js';
import type { Driver, DriverKind } from '../driver.js';
import { handleCommand } from './commands.js';
import { type LorawanConfig, type LorawanConfigInput, lorawanConfigSchema } from './config.js';
import { createDeduplicator } from './dedup.js';
import { openDownlinkQueue } from './downlink-queue.js';
import { MAX_PENDING_FRAMES, openGatewayLink } from './gateway-link.js';
import { type GatewayState, createGatewayRegistry } from './gateway-registry.js';
import { type LorawanCounters, type LorawanDriverHooks, createRuntime, loadSessions } from './runtime.js';
import { openSessionStore } from './session-store.js';
import { handleFrame } from './uplink.js';

export { MAX_DOWNLINK_PAYLOAD } from './commands.js';
export type { LorawanDriverHooks, UplinkRecord } from './runtime.js';

/**
 * The LoRaWAN network server as a driver: it composes the gateway link, the uplink handlers
 * (join, data), the downlink scheduler and the command handler over one shared runtime, and
 * owns only their start, stop and the status they add up to.
 */
export interface LorawanStatus extends LorawanCounters {
  port: number;
  gateways: GatewayState[];
  errors: Record<string, number>;
}

export interface LorawanDriver extends Driver {
  /** The bound UDP port (useful with `port: 0`). */
  port(): number;
  status(): LorawanStatus;
}

export const lorawanDriverKind: DriverKind<typeof lorawanConfigSchema> = {
  kind: 'lorawan',
  configSchema: lorawanConfigSchema,
  create: (config, { configDir }) => createLorawanDriver(config, {}, configDir),
  check: (config, { configDir }) => checkDeviceCodecs('lorawan', config.devices, configDir),
  listens: (config) => [{ key: 'port', host: config.bind, port: config.port, protocol: 'udp' }],
};

export function createLorawanDriver(
  input: LorawanConfig | LorawanConfigInput,
  hooks: LorawanDriverHooks = {},
  /** Where a device's `codecProfile` path is relative to (the edge config's folder). */
  configDir: string = process.cwd(),
): LorawanDriver {
  const config = lorawanConfigSchema.parse(input);
  // Built-in codecs and JavaScript codec profiles alike (codec-registry.ts), loaded from their files now.
  const codecs = new Map(config.devices.map((d) => [d.id, resolveDeviceCodec('lorawan', d, configDir)]));
  const rt = createRuntime(config, hooks, codecs);

  return {
    inventory(): InventoryEntry[] {
      return config.devices.map((d) => ({
        id: d.id,
        kind: `lorawan-${codecs.get(d.id)!.name}`,
        driver: 'lorawan',
        metrics: [
          ...codecs.get(d.id)!.metrics,
          { name: 'rssi', unit: 'dBm' },
          { name: 'snr', unit: 'dB' },
          { name: 'gateways', unit: 'count' },
        ],
      }));
    },

    async start(context) {
      rt.ctx = context;
      rt.stopped = false;
      rt.registry = createGatewayRegistry(config.gateways, config.allowUnknownGateways);
      rt.store = openSessionStore(context.dataDir);
      loadSessions(rt, rt.store);
      rt.downlinks = openDownlinkQueue(context.dataDir);
      rt.dedup = createDeduplicator(config.dedupWindowMs, MAX_PENDING_FRAMES, (phy, receptions) =>
        handleFrame(rt, phy, receptions),
      );
      await openGatewayLink(rt);
      context.log.info(
        { port: rt.boundPort, bind: config.bind, region: rt.region.name, devices: config.devices.length },
        'lorawan: listening for Semtech UDP packet forwarders',
      );
    },

    async stop() {
      rt.stopped = true;
      rt.dedup?.close();
      const sock = rt.socket;
      rt.socket = undefined;
      if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
      rt.store?.close();
      rt.store = undefined;
      rt.downlinks?.close();
      rt.downlinks = undefined;
      for (const c of codecs.values()) c.dispose();
    },

    command: (cmd: Command): Promise<CommandResult['data']> => handleCommand(rt, cmd),

    port: () => rt.boundPort,

    status: () => ({
      port: rt.boundPort,
      gateways: rt.registry.list().map((g) => ({ ...g })),
      ...rt.counters,
      errors: { ...rt.errors },
    }),
  };
}
