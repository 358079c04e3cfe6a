import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_PASSWORDS, TWO_VILLAGES, twoEdgeCredentials } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

/**
 * Issue 13, finding 3: edge-2's credential with the client id `edge-edge-1` (the real edge-1's)
 * must neither block nor kick edge-1, on the embedded broker and on the shipped Mosquitto config.
 */
const connectAs = (url: string, clientId: string) =>
  new Promise<mqtt.MqttClient>((resolve, reject) => {
    const c = mqtt.connect(url, {
      protocolVersion: 4,
      clientId,
      username: 'edge-2',
      password: EDGE_PASSWORDS['edge-2'],
      reconnectPeriod: 0,
    });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });

/** edge-2 takes edge-1's client id ten times over, each session kept until the next one. */
async function borrowTenTimes(url: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const c = await connectAs(url, 'edge-edge-1');
    await c.endAsync();
  }
}

describe('MQTT client identity', () => {
  describe('embedded broker', () => {
    let v: Village;
    beforeAll(async () => {
      v = await createVillage('client-id', {
        cloud: { edges: twoEdgeCredentials() },
        registry: TWO_VILLAGES,
        edgePassword: EDGE_PASSWORDS['edge-1'],
      });
      await v.startCloud();
    });
    afterAll(() => v.cleanup());

    it('edge-2 holding the id edge-edge-1 neither blocks the real edge-1 nor kicks it off', async () => {
      const url = `mqtt://127.0.0.1:${v.mqttPort}`;
      const squatter = await connectAs(url, 'edge-edge-1');
      await v.startEdge({ devices: 1, intervalMs: 100 });
      await waitFor(
        'the real edge-1 connected',
        async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 1,
        {
          timeoutMs: 20_000,
        },
      );
      expect(squatter.connected).toBe(true);
      await squatter.endAsync();
      await borrowTenTimes(url);
      // A takeover closes the old session before the new CONNACK: after the last CONNACK, any kick has happened.
      const m = await v.edgeMetrics();
      expect(m.get('edge_uplink_connects_total')).toBe(1);
      expect(m.get('edge_uplink_connected')).toBe(1);
      expect(v.cloud!.lines.filter((l) => l.msg === 'edge disconnected' && l.edge === 'edge-1')).toEqual([]);
    });
  });

  describe('Mosquitto with the shipped examples/mosquitto.conf', () => {
    let mosquitto: Mosquitto;
    let v: Village;
    beforeAll(async () => {
      mosquitto = await startMosquitto({ ...EDGE_PASSWORDS });
      v = await createVillage('client-id-mosquitto', {
        edgeUrl: mosquitto.url,
        edgePassword: EDGE_PASSWORDS['edge-1'],
      });
    });
    afterAll(async () => {
      await v.cleanup();
      await mosquitto.dispose();
    });

    it('edge-2 borrowing the id edge-edge-1 ten times never takes over the real edge-1', async () => {
      await v.startEdge({ devices: 1, intervalMs: 100 });
      await waitFor(
        'the real edge-1 connected',
        async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 1,
      );
      await borrowTenTimes(mosquitto.url);
      // Mosquitto logs each takeover before it sends the new CONNACK.
      expect(mosquitto.log()).not.toMatch(/Client edge-edge-1 already connected/);
      const m = await v.edgeMetrics();
      expect(m.get('edge_uplink_connects_total')).toBe(1);
      expect(m.get('edge_uplink_connected')).toBe(1);
    });
  });
});
