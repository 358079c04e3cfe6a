import { topics } from '@village/protocol';
import { portError } from '@village/service-kit';
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { CloudConfig } from '../config.js';
import { createSeqState } from '../store/seq-state.js';
import type { BrokerMode, EdgeCredentials } from './broker-mode.js';
import { startBroker } from './start-broker.js';

type EmbeddedMqttConfig = Extract<CloudConfig['mqtt'], { mode: 'embedded' }>;

const bytesOf = (p: AedesPublishPacket) =>
  typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;

/**
 * The embedded aedes broker (the default): one process owns cloud.db, so the seq state is cached
 * in process and there is no journal; the ingest subscribes in-process (no loopback MQTT
 * connection), and batches queued while a commit runs are committed together (group commit).
 */
export function embeddedBrokerMode(
  mqtt: EmbeddedMqttConfig,
  /** edge id → its secret's hash. */
  credentials: EdgeCredentials,
): BrokerMode {
  let aedesRef: Aedes | undefined;
  const publish = (topic: string, payload: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      aedesRef!.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  return {
    mode: 'embedded',
    workerName: 'embedded',
    openState: (db) => ({ seqState: createSeqState(db), journal: undefined }),
    start: (w) =>
      startBroker({
        host: mqtt.host,
        port: mqtt.port,
        maxPacketBytes: mqtt.maxPacketBytes,
        limits: mqtt.limits,
        tls: mqtt.tls,
        credentials,
        log: w.log,
        metrics: w.metrics,
        async beforeListen(aedes) {
          aedesRef = aedes;
          const subscribe = (topic: string, handler: (p: AedesPublishPacket) => unknown) =>
            new Promise<void>((resolve) =>
              aedes.subscribe(topic, (packet, done) => w.serially(() => handler(packet), done), resolve),
            );
          await new Promise<void>((resolve) =>
            aedes.subscribe(
              topics.allUp('batch'),
              (p, done) => w.batchGroups.push(p.topic, bytesOf(p), done),
              resolve,
            ),
          );
          await subscribe(topics.allUp('status'), (p) => w.ingest.status(p.topic, bytesOf(p)));
          await subscribe(topics.allUp('cmd-result'), (p) => w.ingest['cmd-result'](p.topic, bytesOf(p)));
        },
      }).catch((err: unknown) => {
        throw portError(err, 'mqtt.port', mqtt.host, mqtt.port);
      }),
    publish,
    // One broker: a reply goes where every downlink goes.
    reply: publish,
  };
}
