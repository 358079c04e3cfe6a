import { join } from 'node:path';
import type { DriverContext, DriverKind } from '@village/device-drivers';
import { type Reading, type Status, checkEvent, checkReading } from '@village/protocol';
import { type Logger, portError } from '@village/service-kit';
import { BUILD_INFO, registerBuildInfo } from './build-info.js';
import { createClockOffsetMonitor } from './clock-offset.js';
import type { EdgeConfig } from './config.js';
import { checkDriverPorts } from './driver-ports.js';
import { startHealthServer } from './health-server.js';
import { startLocalRules } from './local-rules/local-rules.js';
import { createEdgeMetrics } from './metrics.js';
import { type Outbox, OutboxFullError } from './outbox.js';
import { openSqliteOutbox } from './sqlite-outbox.js';
import { startStateReporter } from './state-report.js';
import { startSupervisor } from './supervisor.js';
import { uplinkTlsOptions } from './uplink-tls.js';
import { epochField, startUplink } from './uplink.js';

/** At most one log line per this many ms while the disk is full (every driver tick would log otherwise). */
const DISK_FULL_LOG_MS = 10_000;

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
  // The health port is bound before the outbox opens: opening it counts a boot, and a start that
  // fails on a port in use must not (the unit would count a boot per restart attempt).
  const late: { outbox?: Outbox; health?: () => { status: 'ok' | 'degraded' } & Record<string, unknown> } =
    {};
  const metrics = createEdgeMetrics(() => late.outbox, now);
  registerBuildInfo(metrics.registry);
  const health = await startHealthServer(
    cfg.health.host,
    cfg.health.port,
    () => late.health?.() ?? { status: 'degraded', starting: true },
    metrics.registry,
  ).catch((err: unknown) => {
    throw portError(err, 'health.port', cfg.health.host, cfg.health.port);
  });
  // The drivers' own listen ports too (LoRaWAN, CoAP, camera HTTP and SIP), for the same reason.
  await checkDriverPorts(cfg.drivers, kinds).catch(async (err: unknown) => {
    await health.close();
    throw err;
  });
  const outbox = (() => {
    try {
      return openSqliteOutbox({
        path: join(cfg.dataDir, 'outbox.db'),
        edgeId: cfg.edgeId,
        quotaBytes: cfg.outbox.quotaMiB * 1024 * 1024,
        groupCommitMs: cfg.outbox.groupCommitMs,
        synchronous: cfg.outbox.synchronous,
        eventReserveBytes: cfg.outbox.eventReserveKiB * 1024,
        now,
      });
    } catch (err) {
      void health.close();
      throw err;
    }
  })();
  late.outbox = outbox;
  let lastDiskFullLog = Number.NEGATIVE_INFINITY;
  const clock = createClockOffsetMonitor({
    edgeId: cfg.edgeId,
    thresholdS: cfg.cloud.clockOffsetThresholdS,
    onOffset: (s) => metrics.clockOffset.set(s),
    report(event) {
      log.warn({ offsetS: event.data.offsetS }, 'edge clock is off from the cloud clock');
      outbox.appendEvent(event).then(
        () => metrics.eventsAccepted.inc(),
        (err: Error) => log.error({ err: err.message }, 'clock offset event not stored'),
      );
    },
  });
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
        try {
          await outbox.append(good);
        } catch (err) {
          // Refused, not accepted: the driver gets the error (a protocol with an acknowledgement
          // withholds it from the device). Counted; logged once in a while, as every tick repeats it.
          if (err instanceof OutboxFullError) {
            metrics.readingsRefused.inc({ driver: id, reason: 'disk_full' }, err.readings);
            if (now() - lastDiskFullLog >= DISK_FULL_LOG_MS) {
              lastDiskFullLog = now();
              dlog.error({ code: err.code, refused: err.readings }, err.message);
            }
          }
          throw err;
        }
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

  const birth = (): Extract<Status, { state: 'online' }> => ({
    state: 'online',
    edgeId: cfg.edgeId,
    boot: outbox.boot,
    ...epochField(outbox.epoch),
    ts: now(),
    version: BUILD_INFO.version,
    devices: supervisor.inventory(),
    ...(clock.offsetS === undefined ? {} : { clockOffsetS: clock.offsetS }),
  });

  // The uplink sends the report after each birth; the reporter sends it on its timer (state-report.ts).
  const reporter = startStateReporter({
    edgeId: cfg.edgeId,
    boot: outbox.boot,
    epoch: epochField(outbox.epoch),
    version: BUILD_INFO.version,
    dataDir: cfg.dataDir,
    intervalMs: cfg.cloud.stateReportMs,
    outbox: () => outbox.stats(),
    drivers: () => supervisor.drivers(),
    clockOffsetS: () => clock.offsetS,
    publish: () => uplink.publishState(),
    log,
    now,
  });

  const uplink = startUplink({
    urls: cfg.cloud.urls,
    edgeId: cfg.edgeId,
    password: cfg.cloud.password,
    window: cfg.cloud.window,
    ackTimeoutMs: cfg.cloud.ackTimeoutMs,
    ackTimeoutMaxMs: cfg.cloud.ackTimeoutMaxMs,
    reconnectMinMs: cfg.cloud.reconnectMinMs,
    reconnectMaxMs: cfg.cloud.reconnectMaxMs,
    keepaliveS: cfg.cloud.keepaliveS,
    tls: uplinkTlsOptions(cfg.cloud.urls, cfg.cloud.tls, cfg.configDir),
    boot: outbox.boot,
    epoch: outbox.epoch,
    birth,
    stateReport: reporter.report,
    clock,
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

  late.health = () => {
    const s = outbox.stats();
    // 503 with the reason when the edge cannot deliver, so systemd and the officers see it.
    const state = uplink.state;
    const down = state === 'unauthorized' || state === 'unreachable';
    return {
      status: down || s.diskFull ? ('degraded' as const) : ('ok' as const),
      ...(down ? { reason: state } : s.diskFull ? { reason: 'disk_full' } : {}),
      edgeId: cfg.edgeId,
      boot: outbox.boot,
      epoch: outbox.epoch,
      uplink: {
        connected: uplink.connected,
        state,
        broker: uplink.broker ?? null,
        brokers: uplink.brokers,
      },
      clockOffsetS: clock.offsetS ?? null,
      outbox: s,
      memory: process.memoryUsage(),
    };
  };
  log.info(
    { edgeId: cfg.edgeId, boot: outbox.boot, epoch: outbox.epoch, healthPort: health.port },
    'edge ready',
  );

  return {
    healthPort: health.port,
    boot: outbox.boot,
    async stop() {
      await localRules.stop();
      await supervisor.stop();
      clearInterval(batcher);
      reporter.stop();
      await uplink.close();
      await outbox.close();
      await health.close();
      log.info({}, 'edge stopped');
    },
  };
}
