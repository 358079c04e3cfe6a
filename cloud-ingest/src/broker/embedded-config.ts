import { z } from 'zod';

/**
 * `mqtt.limits` of the embedded broker (issue 13, finding 7). Defaults suit a county: a few hundred
 * edges, each holding one session.
 */
export const mqttLimitsSchema = z
  .strictObject({
    /** Open sockets at once over the plain and TLS listeners, authenticated or not. Default 2000. */
    maxConnections: z.number().int().min(1).default(2_000),
    /**
     * Authenticated sessions one edge credential may hold at once (each with its own client id);
     * the next CONNECT is refused with CONNACK 3. An edge needs 1; default 4 leaves room for tools.
     */
    maxSessionsPerEdge: z.number().int().min(1).default(4),
    /** ms from accepting a socket to the accepted CONNECT; a slower socket is closed. Default 10000. */
    connectDeadlineMs: z.number().int().min(100).default(10_000),
    /**
     * Bytes: until its credentials are accepted a client's packets (the CONNECT) may be at most this
     * large; a larger one closes the socket before its body is buffered. Default 4096.
     */
    maxConnectBytes: z.number().int().min(256).max(1_048_576).default(4_096),
  })
  .prefault({});

/**
 * `mqtt.tls`: MQTT over TLS on its own port, beside the plain listener (keep that one on loopback).
 * Paths are relative to cloud.yaml.
 */
export const mqttTlsSchema = z
  .strictObject({
    /** Interface of the TLS listener; default: mqtt.host. */
    host: z.string().min(1).optional(),
    /** TCP port; 0 = ephemeral (logged as mqttTlsPort in "cloud ready"). 8883 is the MQTT-over-TLS port. */
    port: z.number().int().min(0).max(65535).default(8883),
    /** PEM server certificate (with its chain) and private key. */
    cert: z.string().min(1),
    key: z.string().min(1),
    /** PEM CA bundle that signs edge client certificates. */
    ca: z.string().min(1).optional(),
    /** Refuse edges without a client certificate from `ca`; the certificate's CN must be the edge id. */
    requireClientCert: z.boolean().default(false),
  })
  .refine((t) => !t.requireClientCert || t.ca !== undefined, {
    message: 'ca is required when requireClientCert is true',
    path: ['ca'],
  })
  .optional();
