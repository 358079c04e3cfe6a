// The embedded broker's memory under half-open CONNECTs (issue 13, finding 7): N sockets each send
// a CONNECT whose length header says 1 MiB and then all of it but its last byte, and hold. Prints
// one JSON line: the cloud's RSS before and at its peak during the hold, and how many sockets the
// broker closed within the hold. Usage: node bench/mqtt-half-open.mjs [sockets=150] [holdMs=5000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUD, freePort, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const sockets = Number(process.argv[2] ?? 150);
const holdMs = Number(process.argv[3] ?? 5_000);
const rssMb = (pid) =>
  Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

const dir = mkdtempSync(join(tmpdir(), 'bench-half-open-'));
const mqttPort = await freePort();
const cfg = writeOneStationCloud(dir, { mqttPort, password: 'bench-pw' });
const cloud = startBin(CLOUD, cfg, 'cloud ready');
await cloud.ready;
const pid = cloud.child.pid;
const before = rssMb(pid);

const size = 1024 * 1024;
const packet = Buffer.alloc(4 + size - 1, 0x61);
Buffer.from([0x10, 0x80, 0x80, 0x40, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 30]).copy(packet);
let closed = 0;
const started = Date.now();
let lastClose = started;
const open = [];
for (let i = 0; i < sockets; i++) {
  const s = connect(mqttPort, '127.0.0.1');
  s.on('error', () => {});
  s.once('close', () => {
    closed++;
    lastClose = Date.now();
  });
  s.once('connect', () => s.write(packet));
  open.push(s);
}
let peak = before;
while (Date.now() - started < holdMs && closed < sockets) {
  peak = Math.max(peak, rssMb(pid));
  await new Promise((r) => setTimeout(r, 20));
}
peak = Math.max(peak, rssMb(pid));
for (const s of open) s.destroy();
process.stdout.write(
  `${JSON.stringify({
    bench: 'mqtt-half-open',
    sockets,
    connectBytes: size,
    holdMs,
    rssBeforeMb: before,
    rssPeakMb: peak,
    rssGrowthMb: peak - before,
    closedByBroker: closed,
    msToLastClose: closed === sockets ? lastClose - started : null,
  })}\n`,
);
await stopAll();
rmSync(dir, { recursive: true, force: true });
