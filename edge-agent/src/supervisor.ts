import type { Driver, DriverContext, DriverKind } from '@village/device-drivers';
import type { Command, CommandResult, InventoryEntry } from '@village/protocol';
import type { Logger } from '@village/service-kit';
import type { ResolvedDriverConfig } from './config.js';
import type { EdgeMetrics } from './metrics.js';

export interface SupervisorOptions {
  drivers: ResolvedDriverConfig[];
  kinds: ReadonlyMap<string, DriverKind>;
  configDir: string;
  /** Builds the context a driver instance runs with (its emit path into the outbox). */
  context: (id: string, signal: AbortSignal, fail: (err: Error) => void) => DriverContext;
  log: Logger;
  metrics: EdgeMetrics;
  /** Restart backoff, ms: doubles from min to max; reset after a driver ran for `stableMs`. */
  restartMinMs?: number;
  restartMaxMs?: number;
  stableMs?: number;
}

export interface Supervisor {
  inventory(): InventoryEntry[];
  /** Each driver's state, for the edge's state report. */
  drivers(): { id: string; kind: string; running: boolean; restarts: number }[];
  command(cmd: Command): Promise<CommandResult>;
  stop(): Promise<void>;
}

/** Command ids remembered with their outcome, so a resent command runs once. */
const REMEMBERED_COMMANDS = 1_000;

interface Slot {
  cfg: ResolvedDriverConfig;
  driver: Driver;
  abort: AbortController;
  running: boolean;
  startedAt: number;
  backoff: number;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * Runs every configured driver; a driver that fails (throws on start, or calls ctx.fail) is
 * stopped and restarted with backoff, without touching the agent or the other drivers.
 */
export function startSupervisor(o: SupervisorOptions): Supervisor {
  const minMs = o.restartMinMs ?? 1_000;
  const maxMs = o.restartMaxMs ?? 60_000;
  const stableMs = o.stableMs ?? 60_000;
  let stopping = false;
  const slots: Slot[] = o.drivers.map((cfg) => ({
    cfg,
    driver: create(cfg),
    abort: new AbortController(),
    running: false,
    startedAt: 0,
    backoff: minMs,
    restarts: 0,
  }));

  function create(cfg: ResolvedDriverConfig): Driver {
    return o.kinds.get(cfg.kind)!.create(cfg.config, { id: cfg.id, configDir: o.configDir });
  }

  async function start(slot: Slot): Promise<void> {
    const abort = new AbortController();
    slot.abort = abort;
    let failed = false;
    const fail = (err: Error) => {
      if (failed || stopping || abort.signal.aborted) return;
      failed = true;
      void restart(slot, err);
    };
    try {
      await slot.driver.start(o.context(slot.cfg.id, abort.signal, fail));
      slot.running = true;
      slot.startedAt = Date.now();
      o.metrics.driverUp.set({ driver: slot.cfg.id }, 1);
      o.log.info({ driver: slot.cfg.id, kind: slot.cfg.kind }, 'driver started');
    } catch (err) {
      fail(err as Error);
    }
  }

  async function restart(slot: Slot, err: Error): Promise<void> {
    slot.running = false;
    o.metrics.driverUp.set({ driver: slot.cfg.id }, 0);
    slot.abort.abort();
    await slot.driver.stop().catch(() => {});
    if (stopping) return;
    if (slot.startedAt && Date.now() - slot.startedAt > stableMs) slot.backoff = minMs;
    const delay = slot.backoff;
    slot.backoff = Math.min(slot.backoff * 2, maxMs);
    slot.restarts += 1;
    o.metrics.driverRestarts.inc({ driver: slot.cfg.id });
    o.log.error({ driver: slot.cfg.id, err: err.message, restartInMs: delay }, 'driver failed; restarting');
    slot.restartTimer = setTimeout(() => {
      if (stopping) return;
      slot.driver = create(slot.cfg);
      void start(slot);
    }, delay);
  }

  for (const slot of slots) void start(slot);

  const results = new Map<string, Promise<CommandResult>>();
  async function run(cmd: Command): Promise<CommandResult> {
    const ts = Date.now();
    if (cmd.expiresAt !== undefined && cmd.expiresAt < ts) {
      return {
        id: cmd.id,
        ok: false,
        ts,
        code: 'command_expired',
        error: 'command expired before it reached the edge',
      };
    }
    const slot = slots.find((s) => s.driver.inventory().some((d) => d.id === cmd.device));
    const refuse = (code: string, error: string): CommandResult => ({
      id: cmd.id,
      ok: false,
      ts,
      code,
      error,
    });
    if (!slot) return refuse('unknown_device', `no driver serves device ${cmd.device}`);
    if (!slot.driver.command) return refuse('no_commands', `driver ${slot.cfg.id} takes no commands`);
    if (!slot.running) return refuse('driver_not_running', `driver ${slot.cfg.id} is not running`);
    try {
      const data = await slot.driver.command(cmd);
      return { id: cmd.id, ok: true, ts: Date.now(), ...(data ? { data } : {}) };
    } catch (err) {
      // The driver's typed error keeps its code on the way to the cloud (driver.ts: commands throw typed errors).
      const code = (err as { code?: unknown })?.code;
      return {
        id: cmd.id,
        ok: false,
        ts: Date.now(),
        code: typeof code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(code) ? code : 'driver_error',
        error: (err as Error).message,
      };
    }
  }

  return {
    inventory: () => slots.flatMap((s) => s.driver.inventory()),
    drivers: () =>
      slots.map((s) => ({ id: s.cfg.id, kind: s.cfg.kind, running: s.running, restarts: s.restarts })),

    command(cmd) {
      // The cloud resends a command that has no result yet (after a reconnect): run each id once
      // and answer repeats with the first outcome, so a siren is never toggled twice by one order.
      const seen = results.get(cmd.id);
      if (seen) return seen;
      const outcome = run(cmd);
      results.set(cmd.id, outcome);
      if (results.size > REMEMBERED_COMMANDS) results.delete(results.keys().next().value!);
      return outcome;
    },

    async stop() {
      stopping = true;
      await Promise.all(
        slots.map(async (s) => {
          clearTimeout(s.restartTimer);
          s.abort.abort();
          await s.driver.stop().catch(() => {});
          o.metrics.driverUp.set({ driver: s.cfg.id }, 0);
        }),
      );
    },
  };
}
