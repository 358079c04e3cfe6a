import type { Command, CommandResult, InventoryEntry } from '@village/protocol';
import { LORAWAN_CODECS } from '../codecs/index.js';
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
  create: (config) => createLorawanDriver(config),
  listens: (config) => [{ key: 'port', host: config.bind, port: config.port, protocol: 'udp' }],
};

export function createLorawanDriver(
  input: LorawanConfig | LorawanConfigInput,
  hooks: LorawanDriverHooks = {},
): LorawanDriver {
  const config = lorawanConfigSchema.parse(input);
  const rt = createRuntime(config, hooks);

  return {
    inventory(): InventoryEntry[] {
      return config.devices.map((d) => ({
        id: d.id,
        kind: `lorawan-${d.codec}`,
        driver: 'lorawan',
        metrics: [
          ...LORAWAN_CODECS[d.codec].metrics.map((m) => ({ name: m.name, unit: m.unit })),
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
