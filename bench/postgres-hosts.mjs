// Several ingest hosts as docs/scaling.md "Several hosts" runs them, for the benches
// (influx-hosts.mjs, fleet.mjs --hosts): each a `village-cloud` process with its own data folder
// and its own copy of the registry, external mode on one Mosquitto, `store: { kind: postgres }`,
// `sink: { kind: influx }`, rules off.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLOUD, startBin } from './village-processes.mjs';

/**
 * Starts `hosts` ingest hosts under `dir` serving one station of `edges` (ids) and resolves with
 * `[{ child, logged, httpPort }]` once each logs "cloud ready". The ingest password is read from
 * VILLAGE_INGEST_PASSWORD. `group`: the shared-subscription group (one per run: a last run's
 * sessions stay subscribed for sessionExpiryS and would take a share). `flags`: node's, e.g. --cpu-prof.
 */
export async function startPostgresHosts({
  dir,
  hosts,
  edges,
  pg,
  influxUrl,
  database,
  mosquitto,
  group,
  flags = [],
}) {
  const village = { id: 'v1', name: 'V', stations: [{ id: 's1', name: 'S', edges }] };
  const registry = stringify({
    counties: [{ id: 'c1', name: 'C', towns: [{ id: 't1', name: 'T', villages: [village] }] }],
  });
  const cloud = [];
  for (let h = 1; h <= hosts; h++) {
    const hostDir = join(dir, `host-${h}`);
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, 'registry.yaml'), registry);
    writeFileSync(
      join(hostDir, 'cloud.yaml'),
      stringify({
        dataDir: './data',
        registry: './registry.yaml',
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'info' },
        sink: { kind: 'influx', url: influxUrl, api: 'v1', database },
        store: { kind: 'postgres', url: pg.url },
        rules: { enabled: false },
        mqtt: {
          mode: 'external',
          url: mosquitto.ingestUrl,
          username: 'ingest',
          password: '${VILLAGE_INGEST_PASSWORD}',
          group,
          clientId: `${group}-host-${h}`,
          sessionExpiryS: 60,
        },
      }),
    );
    const b = startBin(CLOUD, join(hostDir, 'cloud.yaml'), 'cloud ready', flags);
    cloud.push({ ...b, httpPort: (await b.ready).httpPort });
  }
  return cloud;
}
