import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * endpoints.yaml of `village-sim run|replay`: where each station's edge listens, keyed by station id.
 *   s1: { host: 127.0.0.1, lorawan: 1700, nbiot: 5683, camera: 8088, modbus: 1502,
 *         relay: { port: 18830, target: 127.0.0.1:1883 } }
 * `modbus` is the port the simulated Modbus TCP gateway listens on (the edge connects to it);
 * `relay` (optional) is an MQTT relay the simulator runs between the edge and the cloud, cut
 * during edge-outage phenomena.
 */
const port = z.number().int().min(1).max(65535);
const endpointsSchema = z.record(
  z.string(),
  z.strictObject({
    host: z.string().default('127.0.0.1'),
    lorawan: port.optional(),
    nbiot: port.optional(),
    camera: port.optional(),
    modbus: port.optional(),
    relay: z.strictObject({ port, target: z.string().regex(/^[^:]+:\d+$/, 'must be host:port') }).optional(),
  }),
);
export type EndpointsFile = z.infer<typeof endpointsSchema>;

export class EndpointsError extends Error {
  override readonly name = 'EndpointsError';
}

export function loadEndpoints(path: string): EndpointsFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new EndpointsError(`${path}: ${(err as Error).message}`);
  }
  const r = endpointsSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new EndpointsError(`${path}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return r.data;
}
