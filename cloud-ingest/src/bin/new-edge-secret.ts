import { newEdgeSecret } from '../broker/edge-secret.js';

/**
 * `village-cloud new-edge-secret`: the secret goes to the edge (edge.yaml `cloud.password`,
 * best through an environment variable) and is shown only now; the cloud keeps only the hash.
 * Two `key: value` lines, so a script can pick either.
 */
export function printNewEdgeSecret(out: { write(s: string): unknown }): void {
  const { secret, passwordHash } = newEdgeSecret();
  out.write(`secret: ${secret}\npasswordHash: ${passwordHash}\n`);
}
