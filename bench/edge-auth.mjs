// CPU per edge CONNECT check, by stored hash format (cloud-ingest's verifyEdgeSecret, built):
// sha256$ (village-cloud new-edge-secret), scrypt$ the first time, and scrypt$ once cached.
//   node bench/edge-auth.mjs [--n 2000]
import { parseArgs } from 'node:util';
import { hashPassword, newEdgeSecret, verifyEdgeSecret } from '@village/cloud-ingest';

const { values: a } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
const n = Number(a.n);

async function measure(label, count, check) {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < count; i++) if (!(await check(i))) throw new Error(`${label}: refused`);
  const cpu = process.cpuUsage(t0);
  const perUs = (cpu.user + cpu.system) / count;
  process.stdout.write(
    `${JSON.stringify({ hash: label, checks: count, cpuUsPerCheck: Number(perUs.toFixed(1)), wallMs: Math.round(performance.now() - w0) })}\n`,
  );
}

const fresh = Array.from({ length: n }, () => newEdgeSecret());
await measure('sha256', n, (i) => verifyEdgeSecret(fresh[i].secret, fresh[i].passwordHash));
const few = Math.min(n, 20);
const old = Array.from({ length: few }, (_, i) => ({ pw: `pw-${i}`, hash: hashPassword(`pw-${i}`) }));
await measure('scrypt-first', few, (i) => verifyEdgeSecret(old[i].pw, old[i].hash));
await measure('scrypt-cached', n, (i) => verifyEdgeSecret(old[i % few].pw, old[i % few].hash));
