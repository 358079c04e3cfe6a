import { join } from 'node:path';
import type { DeviceEvent } from '@village/protocol';
import type { Driver, DriverContext, DriverKind } from '../driver.js';
import { resolveSecret } from '../nbiot/secret-ref.js';
import { type ResolvedAuth, createCameraAuthenticator } from './camera-auth.js';
import { type CameraMessage, severityOf } from './camera-event-types.js';
import { type CameraHealth, startCameraHealth } from './camera-health.js';
import { type CameraConfig, cameraConfigSchema } from './config.js';
import { createDigestVerifier } from './digest-auth.js';
import { startGbServer } from './gb28181-server.js';
import { type HmacReplayStore, openHmacReplayStore } from './hmac-replay-store.js';
import { type Snapshot, startHttpListener } from './http-listener.js';
import { type SnapshotStore, SnapshotTooLargeError, openSnapshotStore } from './snapshot-store.js';

/**
 * Camera driver: an HTTP listener for pushed analytics events (Hikvision ISAPI, generic JSON)
 * with snapshots kept on the edge disk, an optional GB/T 28181 SIP alarm intake, and a
 * liveness watch that reports `offline` / `online`. Every event goes through ctx.emitEvent
 * and the camera is answered only after it resolves.
 */
export interface CameraDriver extends Driver {
  /** Bound ports (useful with port 0); throws before start. */
  ports(): { http: number; sip?: number };
}

export const cameraDriverKind: DriverKind<typeof cameraConfigSchema> = {
  kind: 'camera',
  configSchema: cameraConfigSchema,
  create: (config) => createCameraDriver(config),
  listens: (config) => [
    { key: 'http.port', host: config.http.bind, port: config.http.port, protocol: 'tcp' },
    ...(config.sip
      ? [{ key: 'sip.port', host: config.sip.bind, port: config.sip.port, protocol: 'udp' as const }]
      : []),
  ],
};

export function createCameraDriver(config: CameraConfig): CameraDriver {
  let http: { port: number; close(): Promise<void> } | undefined;
  let sip: { port: number; close(): Promise<void> } | undefined;
  let health: CameraHealth | undefined;
  let hmacReplay: HmacReplayStore | undefined;

  return {
    inventory: () => config.cameras.map((c) => ({ id: c.id, kind: 'camera', driver: 'camera', metrics: [] })),

    async start(ctx: DriverContext) {
      const auths = new Map<string, ResolvedAuth>();
      const gbPasswords = new Map<string, string>();
      const byGbId = new Map<string, string>();
      const gbChannels = new Map<string, ReadonlySet<string>>();
      for (const cam of config.cameras) {
        const where = `cameras[${cam.id}].auth`;
        const a = cam.auth;
        auths.set(
          cam.id,
          a.type === 'hmac'
            ? { type: 'hmac', secret: resolveSecret(a.secret, where) }
            : { type: a.type, username: a.username, password: resolveSecret(a.password, where) },
        );
        if (cam.gbDeviceId && config.sip) {
          byGbId.set(cam.gbDeviceId, cam.id);
          gbChannels.set(cam.id, new Set(cam.gbChannels));
          gbPasswords.set(
            cam.gbDeviceId,
            resolveSecret(cam.gbPassword ?? config.sip.password, `cameras[${cam.id}].gbPassword`),
          );
        }
      }
      const snapshots: SnapshotStore = openSnapshotStore(
        join(ctx.dataDir, 'snapshots'),
        config.snapshots,
        (file, bytes) => {
          ctx.countError('camera_snapshot_evicted');
          ctx.log.info({ file, bytes }, 'camera: oldest snapshot deleted to stay under the disk cap');
        },
      );
      const hb = startCameraHealth(config.cameras, ctx.now, (camera, state, silentMs) => {
        const event: DeviceEvent = {
          device: camera,
          type: state,
          severity: state === 'offline' ? 'warning' : 'info',
          ts: ctx.now(),
          data: { silent_ms: silentMs },
        };
        return ctx.emitEvent(event).catch((err: Error) => {
          ctx.log.error({ camera, err: err.message }, 'camera: health event not stored, will retry');
          throw err;
        });
      });
      health = hb;

      const deliver = async (
        cameraId: string,
        msg: CameraMessage | { kind: 'ended' },
        snapshot?: Snapshot,
      ) => {
        hb.seen(cameraId);
        if (msg.kind !== 'alarm') return;
        const now = ctx.now();
        const data = { ...msg.data };
        if (snapshot) {
          try {
            const s = snapshots.save(cameraId, snapshot.bytes, snapshot.contentType, now);
            data.snapshot_path = s.path;
            data.snapshot_sha256 = s.sha256;
            data.snapshot_bytes = s.bytes;
          } catch (err) {
            // The alarm matters more than its picture: keep the event, say why the image is missing.
            if (!(err instanceof SnapshotTooLargeError)) throw err;
            ctx.countError('camera_snapshot_too_large');
            ctx.log.warn(
              { camera: cameraId, bytes: err.bytes, limit: err.limit },
              'camera: snapshot dropped',
            );
            data.snapshot_dropped = 'too_large';
          }
        }
        await ctx.emitEvent({
          device: cameraId,
          type: msg.type,
          severity: msg.severity ?? severityOf(msg.type, config.intrusionSeverity),
          ts: now,
          data,
        });
      };

      const digest = createDigestVerifier({ realm: config.http.realm, requireQop: true, now: ctx.now });
      hmacReplay = openHmacReplayStore(ctx.dataDir);
      const authenticate = createCameraAuthenticator({
        realm: config.http.realm,
        digest,
        hmacSkewMs: config.http.hmacSkewMs,
        now: ctx.now,
        replay: hmacReplay,
      });
      const warn = (obj: object, msg: string) => ctx.log.warn(obj, msg);
      http = await startHttpListener({
        port: config.http.port,
        bind: config.http.bind,
        maxBodyBytes: config.http.maxBodyBytes,
        authFor: (id) => auths.get(id),
        authenticate,
        deliver,
        countError: (r) => ctx.countError(r),
        warn,
      });
      if (config.sip) {
        sip = await startGbServer({
          port: config.sip.port,
          bind: config.sip.bind,
          realm: config.sip.realm,
          serverId: config.sip.serverId,
          maxExpiresS: config.sip.maxExpiresS,
          passwordFor: (id) => gbPasswords.get(id),
          cameraFor: (id) => byGbId.get(id),
          channelsOf: (camera) => gbChannels.get(camera) ?? new Set(),
          seen: (camera) => hb.seen(camera),
          deliver,
          countError: (r) => ctx.countError(r),
          warn,
          now: ctx.now,
        });
      }
      ctx.log.info({ http: http.port, sip: sip?.port, cameras: config.cameras.length }, 'camera: listening');
    },

    async stop() {
      health?.stop();
      await http?.close().catch(() => {});
      await sip?.close().catch(() => {});
      hmacReplay?.close();
      http = undefined;
      sip = undefined;
      hmacReplay = undefined;
    },

    ports() {
      if (!http) throw new Error('camera driver not started');
      return { http: http.port, sip: sip?.port };
    },
  };
}
