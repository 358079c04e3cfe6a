import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { PASSWORDS, REGISTRY } from './cloud-fixture.js';

/** A real cloud (embedded broker, SQLite, HTTP) with a `rules:` and `notify:` section, on ephemeral ports. */
export async function startRulesCloud(extra: { rules?: unknown; notify?: unknown }) {
  const dir = mkdtempSync(join(tmpdir(), 'rules-cloud-'));
  writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  const configOf = (sections: { rules?: unknown; notify?: unknown }) =>
    parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: { port: 0 },
        http: { port: 0 },
        edges: [{ id: 'edge-1', passwordHash: hashPassword(PASSWORDS['edge-1']!) }],
        log: { level: 'info' },
        ...sections,
      },
      dir,
    );
  const config = configOf(extra);
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const clients: MqttClient[] = [];
  const t = {
    cloud: (await startCloud(config, log)) as RunningCloud,
    dir,
    logs,
    /** Restarts on the same data folder; `sections` replace the `rules:`/`notify:` given at start. */
    async restart(sections?: { rules?: unknown; notify?: unknown }) {
      await t.cloud.close();
      t.cloud = await startCloud(sections === undefined ? config : configOf(sections), log);
    },
    api<T = Record<string, unknown>>(path: string, init?: RequestInit) {
      return fetch(`http://127.0.0.1:${t.cloud.httpPort}${path}`, init).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as T,
      }));
    },
    async connectEdge(): Promise<MqttClient> {
      const client = mqtt.connect(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
        protocolVersion: 4,
        clientId: `edge-1-${Math.random().toString(16).slice(2, 8)}`,
        username: 'edge-1',
        password: PASSWORDS['edge-1'],
        reconnectPeriod: 0,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await t.cloud.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
