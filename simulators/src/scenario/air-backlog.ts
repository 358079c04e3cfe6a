import { type Reading, decodeAck, encodeBatch, topics } from '@village/protocol';
import mqtt from 'mqtt';
import { pm25At } from './phenomena.js';
import type { Scenario } from './scenario-schema.js';
import { seededRandom } from './seeded-random.js';

const HOUR = 3_600_000;
const EVERY = 5 * 60_000;

/**
 * Simulated past hours for the demo (issue 16): the readings the station's PM sensors (Modbus
 * pm25-sensor) would have taken at their 5-minute interval in the `hours` complete clock hours
 * before `now`, on the scenario's clean-day baseline. The demo plays the day compressed and stamps
 * it now, so no clock hour would ever complete; with these the cloud publishes hourly AQI at once.
 */
export function airBacklog(scenario: Scenario, stationId: string, now: number, hours = 3): Reading[] {
  const station = scenario.stations.find((s) => s.id === stationId);
  const sensors = (station?.modbus ?? []).filter((d) => d.profile === 'pm25-sensor');
  const first = Math.floor(now / HOUR) * HOUR - hours * HOUR;
  return sensors.flatMap((d) => {
    const r = seededRandom(scenario.seed, `backlog/${d.id}`);
    return Array.from({ length: (hours * HOUR) / EVERY }, (_, i) => {
      const ts = first + i * EVERY;
      const pm25 = Math.round(pm25At(scenario, stationId, 0) * r.between(0.9, 1.1));
      const reading = (metric: string, value: number): Reading => ({
        device: d.id,
        metric,
        value,
        unit: 'µg/m³',
        ts,
        quality: 'good',
      });
      return [reading('pm2_5', pm25), reading('pm10', Math.round(pm25 * 1.6))];
    }).flat();
  });
}

/**
 * Sends readings as the edge's backlog after an outage is sent: one batch marked historical, from
 * an outbox epoch of its own (the cloud keeps seqs per epoch, so the edge's own seq 1 is not taken
 * for a duplicate), and waits for the cloud's ack, so they are stored before the edge connects.
 */
export async function sendBacklog(o: {
  url: string;
  edgeId: string;
  password: string;
  readings: Reading[];
  timeoutMs?: number;
}): Promise<void> {
  if (o.readings.length === 0) return;
  const client = await mqtt.connectAsync(o.url, {
    protocolVersion: 4,
    clientId: `${o.edgeId}`,
    username: o.edgeId,
    password: o.password,
    reconnectPeriod: 0,
  });
  try {
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${o.edgeId}: no ack for the simulated backlog`)),
        o.timeoutMs ?? 30_000,
      );
      client.on('message', (_topic, payload) => {
        const ack = decodeAck(payload);
        if (ack.acked.includes(1) || ack.rejected.some((x) => x.seq === 1)) {
          clearTimeout(timer);
          if (ack.acked.includes(1)) resolve();
          else reject(new Error(`${o.edgeId}: the cloud refused the simulated backlog`));
        }
      });
    });
    await client.subscribeAsync(topics.ack(o.edgeId), { qos: 1 });
    const bytes = encodeBatch({
      edgeId: o.edgeId,
      seq: 1,
      boot: 1,
      epoch: 'demo-backlog',
      createdAt: Date.now(),
      historical: true,
      readings: o.readings,
      events: [],
    });
    await client.publishAsync(topics.batch(o.edgeId), Buffer.from(bytes), { qos: 1 });
    await acked;
  } finally {
    await client.endAsync(true);
  }
}
