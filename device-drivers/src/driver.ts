import type { Command, CommandResult, DeviceEvent, InventoryEntry, Reading } from '@village/protocol';
import type { z } from 'zod';

/**
 * The contract between the edge agent's supervisor and a protocol driver.
 *
 * A driver turns one protocol into Readings and DeviceEvents. It hands them to `ctx.emit*`,
 * whose promise resolves only once they are durably in the edge outbox (SQLite): a driver
 * whose protocol has an acknowledgement (CoAP ACK, LoRa confirmed uplink, HTTP 200) sends it
 * after that promise resolves, never before.
 */
export interface DriverLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DriverContext {
  /** Id of this driver instance, from the edge config. */
  readonly id: string;
  /** Durable append; rejects only when the outbox cannot store (disk failure). */
  emitReadings(readings: Reading[]): Promise<void>;
  /** Events take their own lane and are never dropped for quota. */
  emitEvent(event: DeviceEvent): Promise<void>;
  /** Counts bad input or a failed exchange, labelled by a short stable reason. Shows in /metrics. */
  countError(reason: string): void;
  readonly log: DriverLog;
  /** Injected clock, ms epoch. */
  now(): number;
  /** A folder the driver may keep state in (sessions, snapshots). */
  readonly dataDir: string;
  /** Aborted when the supervisor stops the driver. */
  readonly signal: AbortSignal;
  /**
   * Tells the supervisor the driver has failed beyond repair (a port vanished, a socket closed);
   * it is stopped and restarted with backoff.
   */
  fail(err: Error): void;
}

export interface Driver {
  /** The devices this driver serves, for the edge's birth certificate. */
  inventory(): InventoryEntry[];
  /** Starts serving; resolves when listening/polling. Throwing here counts as a failed start. */
  start(ctx: DriverContext): Promise<void>;
  /** Stops and releases every port, socket and timer. Must not throw. */
  stop(): Promise<void>;
  /** Executes a command for one of this driver's devices; throws a typed error to report failure. */
  command?(cmd: Command): Promise<CommandResult['data']>;
}

/** A driver kind: its config schema (checked at edge start-up) and its constructor. */
export interface DriverKind<S extends z.ZodType = z.ZodType> {
  kind: string;
  /** Schema of one entry under `drivers:` in edge.yaml (without `kind` and `id`, which the edge owns). */
  configSchema: S;
  create(config: z.infer<S>, options: { id: string; configDir: string }): Driver;
  /**
   * What the schema cannot see (files the config names, e.g. Modbus profiles): the edge's config
   * check and its start-up both run it before anything is opened, so `--check` finds the same
   * problems as a start. `path` is relative to the driver's entry. Without it, the schema is all.
   */
  check?(config: z.infer<S>, options: { configDir: string }): DriverConfigIssue[];
  /**
   * The ports a driver with this config will listen on. The edge try-binds each before opening
   * the outbox, so a port in use is a config problem (exit 2, no boot counted) rather than a
   * driver the supervisor restarts forever. Without it, the driver listens on nothing.
   */
  listens?(config: z.infer<S>): DriverListen[];
}

/** One listening socket a driver opens; `key` is its port's path under the driver's entry. */
export interface DriverListen {
  key: string;
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

/** One problem `DriverKind.check` found: the key under the driver's entry, and what is wrong. */
export interface DriverConfigIssue {
  path: (string | number)[];
  message: string;
}
