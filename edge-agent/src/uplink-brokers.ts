import { type Socket, isIP, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { UplinkTlsOptions } from './uplink-tls.js';

/** One broker of `cloud.url` / `cloud.urls`, as the uplink dials it. */
export interface Broker {
  /** `mqtt://host:port` without any user info: safe for logs, /health and metric labels. */
  label: string;
  host: string;
  port: number;
  tls: boolean;
}

/** Parses a URL the config schema accepted (config.ts `brokerUrl`); default ports 1883 and 8883. */
export function parseBroker(url: string): Broker {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:';
  const port = u.port === '' ? (tls ? 8883 : 1883) : Number(u.port);
  // URL keeps the brackets of an IPv6 literal; net and tls want the bare address.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { label: `${u.protocol}//${u.host}`, host, port, tls };
}

/**
 * Opens the connection to one broker for mqtt.js (its StreamBuilder). TLS verifies the broker's
 * certificate against `tls.ca` and, for a host name, that it names this broker (SNI and the
 * hostname check use this broker's host, never another's of the list).
 */
export function openBrokerStream(b: Broker, tls: UplinkTlsOptions | undefined): Socket {
  if (!b.tls) return tcpConnect({ host: b.host, port: b.port });
  return tlsConnect({
    host: b.host,
    port: b.port,
    ...(isIP(b.host) === 0 ? { servername: b.host } : {}),
    ...tls,
    rejectUnauthorized: true,
  });
}
