import type { GatewayStat, ProtocolVersion } from './semtech-udp.js';

/** What the network server knows about one gateway. */
export interface GatewayState {
  eui: string;
  /** ms epoch of the last datagram from it. */
  lastSeen: number;
  /** Where its PULL_DATA came from: PULL_RESP goes there (it is how the gateway gets through NAT). */
  pullAddress?: { address: string; port: number };
  /** Semtech UDP version of its last PULL_DATA: PULL_RESP is sent in it (1 has no TX_ACK). */
  pullVersion?: ProtocolVersion;
  rxpkReceived: number;
  pushDataReceived: number;
  txAcks: number;
  txErrors: number;
  /** The gateway's own counters and position from its last `stat` report. */
  lastStat?: GatewayStat;
}

export interface GatewayRegistry {
  /** The gateway's state, created on first contact if unknown gateways are allowed; undefined when refused. */
  admit(eui: string, now: number): GatewayState | undefined;
  get(eui: string): GatewayState | undefined;
  list(): GatewayState[];
}

export function createGatewayRegistry(configured: readonly string[], allowUnknown: boolean): GatewayRegistry {
  const allowed = new Set(configured.map((e) => e.toLowerCase()));
  const gateways = new Map<string, GatewayState>();
  const fresh = (eui: string): GatewayState => ({
    eui,
    lastSeen: 0,
    rxpkReceived: 0,
    pushDataReceived: 0,
    txAcks: 0,
    txErrors: 0,
  });
  return {
    admit(eui, now) {
      let g = gateways.get(eui);
      if (g === undefined) {
        if (!allowUnknown && !allowed.has(eui)) return undefined;
        g = fresh(eui);
        gateways.set(eui, g);
      }
      g.lastSeen = now;
      return g;
    },
    get: (eui) => gateways.get(eui),
    list: () => [...gateways.values()],
  };
}
