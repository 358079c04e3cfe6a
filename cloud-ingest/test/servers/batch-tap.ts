import { type Batch, decodeBatch } from '@village/protocol';
import mqtt, { type MqttClient } from 'mqtt';

/** The ACL lines a tap account needs (prepend to the broker's ACL file). */
export const TAP_ACL = (user: string) => `user ${user}\ntopic read v1/e/+/up/batch\n`;

export interface BatchTap {
  /** Every distinct (edge, seq) seen, decoded. */
  batches: Map<string, Batch>;
  /** `device|metric|ts` → value of every reading the edges sent (resends counted once). */
  readings(): Map<string, unknown>;
  /** Publishes seen, resends included. */
  published: number;
  close(): Promise<void>;
}

/**
 * The ground truth of an end-to-end test: an independent subscriber on the broker that records
 * what the edges published, so the test compares the store with what was sent rather than with
 * what the cloud says it got. It decodes with the protocol codec only.
 */
export async function startBatchTap(url: string, username: string, password: string): Promise<BatchTap> {
  const batches = new Map<string, Batch>();
  const client: MqttClient = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId: `tap-${Math.random().toString(16).slice(2, 8)}`,
    username,
    password,
    reconnectPeriod: 500,
  });
  const tap: BatchTap = {
    batches,
    published: 0,
    readings() {
      const out = new Map<string, unknown>();
      for (const b of batches.values())
        for (const r of b.readings) out.set(`${r.device}|${r.metric}|${r.ts}`, r.value);
      return out;
    },
    close: () => client.endAsync(true),
  };
  client.on('message', (_topic, payload) => {
    tap.published++;
    const b = decodeBatch(payload);
    batches.set(`${b.edgeId}|${b.seq}`, b);
  });
  await client.subscribeAsync('v1/e/+/up/batch', { qos: 1 });
  return tap;
}
