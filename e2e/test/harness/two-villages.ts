import { spawnSync } from 'node:child_process';
import { CLOUD_BIN } from './processes.js';

/** Edge passwords of the two-village setups (test secrets, not used anywhere else). */
export const EDGE_PASSWORDS = { 'edge-1': 'pw-edge-1-two', 'edge-2': 'pw-edge-2-two' } as const;

/** The hash `village-cloud hash-password` prints for `password` (the operator's way). */
export function hashWithBin(password: string): string {
  const run = spawnSync(process.execPath, [CLOUD_BIN, 'hash-password'], {
    input: `${password}\n`,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`hash-password failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** cloud.yaml `edges:` for edge-1 and edge-2. */
export const twoEdgeCredentials = () =>
  Object.entries(EDGE_PASSWORDS).map(([id, pw]) => ({ id, passwordHash: hashWithBin(pw) }));

/**
 * registry.yaml: village v1 (station s1, edge-1, person p1 wearing wb-1) and village v2
 * (station s2, edge-2, person p2 wearing wb-2), with wb-2 and dev-2 registered to edge-2.
 */
export const TWO_VILLAGES = {
  counties: [
    {
      id: 'c1',
      name: 'County',
      towns: [
        {
          id: 't1',
          name: 'Town',
          villages: [
            { id: 'v1', name: 'Village 1', stations: [{ id: 's1', name: 'Station 1', edges: ['edge-1'] }] },
            { id: 'v2', name: 'Village 2', stations: [{ id: 's2', name: 'Station 2', edges: ['edge-2'] }] },
          ],
        },
      ],
    },
  ],
  people: [
    { id: 'p1', name: 'Person 1', station: 's1', wristband: 'wb-1', livesAlone: true },
    { id: 'p2', name: 'Person 2', station: 's2', wristband: 'wb-2', livesAlone: true },
  ],
  devices: [
    { id: 'wb-1', edge: 'edge-1', kind: 'wristband', driver: 'lorawan' },
    { id: 'wb-2', edge: 'edge-2', kind: 'wristband', driver: 'lorawan' },
    { id: 'dev-2', edge: 'edge-2', kind: 'air-quality', driver: 'modbus' },
  ],
};
