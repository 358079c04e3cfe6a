import { BlockList, isIP } from 'node:net';
import type { GatewayStat, ProtocolVersion } from './semtech-udp.js';

/** What the network server knows about one gateway. */
export interface GatewayState {
  eui: string;
  /** ms epoch of the last datagram from it. */
  lastSeen: number;
  /** Where its PULL_DATA came from: PULL_RESP goes there (it is how the gateway gets through NAT). */
  pullAddress?: { address: string; port: number };
  /** Times `pullAddress` moved to another address or port after it was first set. */
  routeChanges: number;
  /** Semtech UDP version of its last PULL_DATA: PULL_RESP is sent in it (1 has no TX_ACK). */
  pullVersion?: ProtocolVersion;
  rxpkReceived: number;
  pushDataReceived: number;
  txAcks: number;
  txErrors: number;
  /** The gateway's own counters and position from its last `stat` report. */
  lastStat?: GatewayStat;
}

export interface ConfiguredGateway {
  eui: string;
  /**
   * Source addresses (CIDR, or a bare address) this gateway's datagrams may come from. Semtech
   * UDP carries no authentication, so this is the only thing tying an EUI to a place; absent,
   * any source is taken.
   */
  allowedSources?: readonly string[];
}

export type Admission =
  | { ok: true; gateway: GatewayState }
  | { ok: false; reason: 'gateway_unknown' | 'gateway_source_refused' };

export interface GatewayRegistry {
  /**
   * The gateway's state for a datagram from `address`, created on first contact if unknown
   * gateways are allowed; refused for an unknown gateway or a source outside its allow-list.
   */
  admit(eui: string, address: string, now: number): Admission;
  get(eui: string): GatewayState | undefined;
  list(): GatewayState[];
}

/** `a.b.c.d/n`, `x::y/n` or a bare address; undefined if it is neither. */
export function parseCidr(
  text: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...rest] = text.split('/');
  const v = isIP(address);
  if (v === 0 || rest.length > 0) return undefined;
  const max = v === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    // The config schema has checked every entry; a bad one here is a programming error.
    if (!p) throw new Error(`not a CIDR: ${c}`);
    list.addSubnet(p.address, p.prefix, p.family);
  }
  return list;
}

export function createGatewayRegistry(
  configured: readonly ConfiguredGateway[],
  allowUnknown: boolean,
): GatewayRegistry {
  const allowed = new Map(
    configured.map((g) => [
      g.eui.toLowerCase(),
      g.allowedSources === undefined ? undefined : blockListOf(g.allowedSources),
    ]),
  );
  const gateways = new Map<string, GatewayState>();
  const fresh = (eui: string): GatewayState => ({
    eui,
    lastSeen: 0,
    routeChanges: 0,
    rxpkReceived: 0,
    pushDataReceived: 0,
    txAcks: 0,
    txErrors: 0,
  });
  return {
    admit(eui, address, now) {
      const sources = allowed.get(eui);
      if (sources !== undefined && !sources.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) {
        return { ok: false, reason: 'gateway_source_refused' };
      }
      let g = gateways.get(eui);
      if (g === undefined) {
        if (!allowUnknown && !allowed.has(eui)) return { ok: false, reason: 'gateway_unknown' };
        g = fresh(eui);
        gateways.set(eui, g);
      }
      g.lastSeen = now;
      return { ok: true, gateway: g };
    },
    get: (eui) => gateways.get(eui),
    list: () => [...gateways.values()],
  };
}
