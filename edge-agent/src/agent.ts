import { join } from 'node:path';
import type { DriverContext, DriverKind } from '@village/device-drivers';
import { type Reading, type Status, checkEvent, checkReading } from '@village/protocol';
import type { EdgeConfig } from './config.js';
import { startHealthServer } from './health-server.js';
import { startLocalRules } from './local-rules/local-rules.js';
import type { Logger } from './log.js';
import { createEdgeMetrics } from './metrics.js';
import { openSqliteOutbox } from './sqlite-outbox.js';
import { startSupervisor } from './supervisor.js';
import { uplinkTlsOptions } from './uplink-tls.js';
import { startUplink } from './uplink.js';

export const EDGE_VERSION = '0.1.0';

export interface EdgeAgent {
  healthPort: number;
  boot: number;
  stop(): Promise<void>;
}

/** Wires outbox, drivers, batcher, uplink and health into one running edge. */
export async function startEdgeAgent(
  cfg: EdgeConfig,
  kinds: ReadonlyMap<string, DriverKind>,
  log: Logger,
  now: () => number = Date.now,
): Promise<EdgeAgent> {
  const outbox = openSqliteOutbox({
    path: join(cfg.dataDir, 'outbox.db'),
    edgeId: cfg.edgeId,
    quotaBytes: cfg.outbox.quotaMiB * 1024 * 1024,
    groupCommitMs: cfg.outbox.groupCommitMs,
    synchronous: cfg.outbox.synchronous,
    now,
  });
  const metrics = createEdgeMetrics(() => outbox, now);
  // Judged on the drivers' emit path, before the outbox write: a siren waits neither for the disk
  // nor for the uplink. Commands take the supervisor's path (bound late: it starts below).
  const localRules = startLocalRules({
    rules: cfg.localRules,
    edgeId: cfg.edgeId,
    command: (cmd) => supervisor.command(cmd),
    report: async (event) => {
      await outbox.appendEvent(event);
      metrics.eventsAccepted.inc();
      batchNow();
    },
    registry: metrics.registry,
    log: log.child({ part: 'local-rules' }),
    now,
  });

  const context = (id: string, signal: AbortSignal, fail: (err: Error) => void): DriverContext => {
    const dlog = log.child({ driver: id });
    return {
      id,
      signal,
      fail,
      now,
      log: dlog,
      dataDir: join(cfg.dataDir, 'drivers', id),
      async emitReadings(readings) {
        // A bad reading is dropped and counted; the good ones beside it are kept.
        const good: Reading[] = [];
        for (const r of readings) {
          try {
            good.push(checkReading(r));
          } catch (err) {
            metrics.readingsInvalid.inc({ driver: id });
            dlog.warn({ err: (err as Error).message }, 'invalid reading dropped');
          }
        }
        localRules.observeReadings(good);
        await outbox.append(good);
        metrics.readingsAccepted.inc(good.length);
      },
      async emitEvent(event) {
        try {
          checkEvent(event);
        } catch (err) {
          metrics.readingsInvalid.inc({ driver: id });
          dlog.warn({ err: (err as Error).message }, 'invalid event dropped');
          return;
        }
        localRules.observeEvent(event);
        await outbox.appendEvent(event);
        metrics.eventsAccepted.inc();
        batchNow();
      },
      countError(reason) {
        metrics.driverErrors.inc({ driver: id, reason });
      },
    };
  };

  const supervisor = startSupervisor({
    drivers: cfg.drivers,
    kinds,
    configDir: cfg.configDir,
    context,
    log,
    metrics,
  });

  const birth = (): Status => ({
    state: 'online',
    edgeId: cfg.edgeId,
    boot: outbox.boot,
    ts: now(),
    version: EDGE_VERSION,
    devices: supervisor.inventory(),
  });

  const uplink = startUplink({
    url: cfg.cloud.url,
    edgeId: cfg.edgeId,
    password: cfg.cloud.password,
    window: cfg.cloud.window,
    ackTimeoutMs: cfg.cloud.ackTimeoutMs,
    reconnectMinMs: cfg.cloud.reconnectMinMs,
    reconnectMaxMs: cfg.cloud.reconnectMaxMs,
    keepaliveS: cfg.cloud.keepaliveS,
    tls: uplinkTlsOptions(cfg.cloud.url, cfg.cloud.tls, cfg.configDir),
    boot: outbox.boot,
    birth,
    outbox,
    log,
    metrics,
    now,
    onCommand: async (cmd) => {
      const result = await supervisor.command(cmd);
      metrics.commands.inc({ result: result.ok ? 'ok' : 'error' });
      log.info(
        { id: cmd.id, device: cmd.device, action: cmd.action, ok: result.ok, error: result.error },
        'command',
      );
      return result;
    },
  });

  // The batcher: cut whatever the policy allows, then let the uplink fill its window.
  function batchNow(): void {
    try {
      const cut = outbox.cut({
        now: now(),
        maxReadings: cfg.outbox.batchMaxReadings,
        maxAgeMs: cfg.outbox.batchMaxAgeMs,
        uplinkConnected: uplink.connected,
        historicalAfterMs: cfg.outbox.historicalAfterMs,
      });
      if (cut > 0 || uplink.connected) uplink.pump();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cutting batches failed');
    }
  }
  const batcher = setInterval(batchNow, Math.max(10, Math.min(100, cfg.outbox.batchMaxAgeMs / 2)));

  const health = await startHealthServer(
    cfg.health.host,
    cfg.health.port,
    () => {
      const s = outbox.stats();
      return {
        status: 'ok',
        edgeId: cfg.edgeId,
        boot: outbox.boot,
        uplink: { connected: uplink.connected },
        outbox: s,
        memory: process.memoryUsage(),
      };
    },
    metrics.registry,
  );
  log.info({ edgeId: cfg.edgeId, boot: outbox.boot, healthPort: health.port }, 'edge ready');

  return {
    healthPort: health.port,
    boot: outbox.boot,
    async stop() {
      await localRules.stop();
      await supervisor.stop();
      clearInterval(batcher);
      await uplink.close();
      await outbox.close();
      await health.close();
      log.info({}, 'edge stopped');
    },
  };
}
