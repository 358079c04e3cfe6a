// A real InfluxDB 1.x for the benches (Debian's influxd 1.6.7): every folder under `dir`, every
// listener on 127.0.0.1 (its defaults listen on all interfaces and write under /var/lib), its own
// statistics store and query log off so they cost the bench nothing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './village-processes.mjs';

/** Starts influxd and creates `databases`; resolves once /ping answers. */
export async function startInfluxd(dir, databases = ['village']) {
  const [port, rpcPort] = [await freePort(), await freePort()];
  for (const d of ['meta', 'data', 'wal']) mkdirSync(join(dir, 'influx', d), { recursive: true });
  const conf = execFileSync('influxd', ['config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .replace(/^(\s*)dir = "\/var\/lib\/influxdb\/meta"$/m, `$1dir = "${dir}/influx/meta"`)
    .replace(/^(\s*)dir = "\/var\/lib\/influxdb\/data"$/m, `$1dir = "${dir}/influx/data"`)
    .replace(/^(\s*)wal-dir = ".*"$/m, `$1wal-dir = "${dir}/influx/wal"`)
    .replace(/^bind-address = ".*"$/m, `bind-address = "127.0.0.1:${rpcPort}"`)
    .replace(/^(\s*)bind-address = ":8086"$/m, `$1bind-address = "127.0.0.1:${port}"`)
    .replace(/^(\s*)bind-address = ":(\d+)"$/gm, '$1bind-address = "127.0.0.1:0"')
    .replace(/^(\s*)store-enabled = true$/m, '$1store-enabled = false')
    .replace(/^(\s*)query-log-enabled = true$/m, '$1query-log-enabled = false')
    .replace(/^(\s*)log-enabled = true$/gm, '$1log-enabled = false');
  writeFileSync(join(dir, 'influx/influxdb.conf'), conf);
  const child = spawn('influxd', ['run', '-config', join(dir, 'influx/influxdb.conf')], {
    stdio: 'ignore',
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const query = async (q, db = 'village') => {
    const r = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q, db }) });
    return (await r.json()).results;
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/ping`)).status === 204) break;
    } catch {}
    if (i > 300) throw new Error('influxd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const db of databases) await query(`CREATE DATABASE ${db}`);
  return {
    url,
    query,
    /** Every field value stored in `db`, over all measurements: what InfluxDB itself counts. */
    async countReadings(db) {
      const [r] = await query('SELECT count(*) FROM /.*/', db);
      return (r.series ?? []).flatMap((s) => s.values[0].slice(1)).reduce((a, b) => a + (b ?? 0), 0);
    },
    /**
     * InfluxDB's own rate, the limit a bench compares against: posts the line-protocol `bodies`
     * to `db` from `writers` concurrent writers; resolves to the seconds it took.
     */
    async writeRaw(bodies, db, writers = 2) {
      let next = 0;
      const writer = async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const r = await fetch(`${url}/write?db=${db}&precision=ms`, { method: 'POST', body });
          if (r.status !== 204) throw new Error(`raw write: ${r.status} ${await r.text()}`);
        }
      };
      const start = process.hrtime.bigint();
      await Promise.all(Array.from({ length: writers }, writer));
      return Number(process.hrtime.bigint() - start) / 1e9;
    },
    async stop() {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
    },
  };
}
