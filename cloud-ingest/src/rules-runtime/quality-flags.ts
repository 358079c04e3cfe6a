import type { Reading } from '@village/protocol';
import { type DataFlag, type QcResult, createQcState, qualityControl } from '@village/rules';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { FlagWrite, PlaceTags, Sink, SinkBatch } from '../sink/sink.js';
import { type QualitySection, qcConfigOf } from './quality-config.js';
import type { AuditEntry, FlagRow, FlagScope, QualityStore, StoredWindow } from './quality-store.js';

/** A refused quality command; `status` is what the API answers. */
export class QualityCommandError extends Error {
  override readonly name = 'QualityCommandError';
  constructor(
    readonly status: 400 | 404,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An officer's flag change of a range, as listeners (the AQI publisher) receive it. */
export interface FlagChange {
  scope: FlagScope & { metrics?: readonly string[] };
  /** The flag now in effect for every reading of the scope. */
  flag: DataFlag;
}

export interface JudgedBatch {
  results: { reading: Reading; flag: DataFlag }[];
  /** The readings flagged N: the only ones the rules, means and AQI see. */
  good: Reading[];
  /**
   * The flags' store writes (settled on return with cloud.db's store); whoever moves a cursor
   * past the batch awaits it first, so a crash in between judges the same rows again.
   */
  written: Promise<void>;
}

export interface QualityFlags {
  /** Flags every reading of a committed batch (sync; the store and the sink's copy are written after). */
  judge(batch: SinkBatch): JudgedBatch;
  /**
   * Reloads the windows and overrides when the store's version moved (an officer's change
   * through another host); the first load starts at creation. Call before judging.
   */
  refresh(): Promise<void>;
  flags(q: Partial<FlagScope> & { limit: number; notNormal?: boolean }): Promise<FlagRow[]>;
  audit(q: {
    station?: string;
    device?: string;
    from?: number;
    to?: number;
    limit: number;
  }): Promise<AuditEntry[]>;
  /** The active windows, as stored (set through any host). */
  windows(): Promise<StoredWindow[]>;
  setWindow(w: Omit<StoredWindow, 'id' | 'createdAt' | 'removedAt'>): Promise<StoredWindow>;
  removeWindow(id: string, actor: string): Promise<StoredWindow>;
  /** An officer's invalidation (flag `I`) or restore (flag `N`) of a range, with a reason. */
  change(
    action: 'invalidate' | 'restore',
    scope: FlagScope,
    actor: string,
    reason: string,
  ): Promise<AuditEntry>;
  /** Where a device was last heard from (the station of a flag change on a device). */
  placeOf(device: string): Promise<PlaceTags | undefined>;
  /** Listeners run (and are awaited) before the change's command answers. */
  onChange(listener: (c: FlagChange) => void | Promise<void>): () => void;
  /** Waits for the sink copies still being written. */
  close(): Promise<void>;
}

const covers = (o: AuditEntry, r: { device: string; metric: string; ts: number }, station: string | null) =>
  (o.device === null || o.device === r.device) &&
  (o.station === null || o.station === station) &&
  (o.metric === null || o.metric === r.metric) &&
  r.ts >= (o.from ?? Number.NEGATIVE_INFINITY) &&
  r.ts < (o.to ?? Number.POSITIVE_INFINITY);

/**
 * Quality control in the cloud (docs/rules.md "Quality control in the cloud"): every committed
 * reading is judged by the pure checks of @village/rules before the rules see it, keeps an HJ
 * 212-style flag (cloud.db `qc_flags`, and a copy in the sink beside the reading), and only `N`
 * readings go on to the rules, means and AQI. Officers' invalidations and restores are stored as
 * audited overrides; the newest one covering a reading decides its flag, also for a reading that
 * arrives (or is replayed) after it. The checks' own state (last good value, flat runs) lives in
 * memory: after a restart a spike or flatline needs its history again, which errs on passing.
 */
export function createQualityFlags(deps: {
  store: QualityStore;
  section: QualitySection;
  sink: Sink | undefined;
  log: Logger;
  registry: Registry;
  now(): number;
}): QualityFlags {
  const { log } = deps;
  const { store } = deps;
  const config = qcConfigOf(deps.section);
  const state = createQcState();
  let overrides: AuditEntry[] = [];
  let active: StoredWindow[] = [];
  let version: number | undefined;
  // With cloud.db's store this settles before any batch can arrive (its promises are settled on
  // return: only microtasks run), so one host judges its first batch with every window, as before.
  let loading: Promise<void> | undefined;
  function refresh(): Promise<void> {
    loading ??= (async () => {
      const v = await store.version();
      if (v === version) return;
      overrides = await store.overrides();
      active = await store.windows(true);
      version = v;
    })().finally(() => {
      loading = undefined;
    });
    return loading;
  }
  const loaded = refresh().catch((err: Error) =>
    log.error({ err: err.message }, 'quality: loading windows and overrides failed'),
  );
  const listeners = new Set<(c: FlagChange) => void | Promise<void>>();
  const judged = new Counter({
    name: 'cloud_qc_readings_total',
    help: 'Committed readings judged by quality control, by the data flag they got (N normal, M, C, D, T, Q, I)',
    labelNames: ['flag'],
    registers: [deps.registry],
  });
  const writeFailures = new Counter({
    name: 'cloud_qc_sink_flag_write_failures_total',
    help: "Failed writes of data flags to the sink's copy (retried with the next write; cloud.db keeps the flag)",
    registers: [deps.registry],
  });

  // The sink copy, one write at a time; a failed write is kept and tried again with the next one.
  let queue: Promise<void> = Promise.resolve();
  let retry: { place: PlaceTags; flags: FlagWrite[] }[] = [];
  function toSink(place: PlaceTags, flags: FlagWrite[]): Promise<void> {
    const sink = deps.sink;
    if (!sink?.setFlags || flags.length === 0) return queue;
    const work = [...retry, { place, flags }];
    retry = [];
    queue = queue.then(async () => {
      for (let i = 0; i < work.length; i++) {
        try {
          await sink.setFlags!(work[i]!.place, work[i]!.flags);
        } catch (err) {
          writeFailures.inc();
          retry.push(...work.slice(i));
          log.warn(
            { err: (err as Error).message },
            'quality: writing data flags to the sink failed; kept to retry',
          );
          return;
        }
      }
    });
    return queue;
  }

  function overrideOf(r: Reading, station: string | null): DataFlag | undefined {
    for (let i = overrides.length - 1; i >= 0; i--)
      if (covers(overrides[i]!, r, station)) return overrides[i]!.flag ?? undefined;
    return undefined;
  }

  async function emit(c: FlagChange): Promise<void> {
    for (const l of listeners) {
      try {
        await l(c);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'a flag change listener failed');
      }
    }
  }

  /** Stored readings of a scope, series by series, from the sink (the sink knows what exists). */
  async function readingsIn(scope: FlagScope, metrics?: readonly string[]) {
    const sink = deps.sink;
    const out: { device: string; metric: string; ts: number; place: PlaceTags }[] = [];
    if (!sink?.readingTimes) return out;
    const devices =
      scope.device !== undefined
        ? [scope.device]
        : scope.station !== undefined
          ? await store.devicesAt(scope.station)
          : [];
    for (const device of devices) {
      const place = await store.placeOf(device);
      if (!place || (scope.station !== undefined && place.station !== scope.station)) continue;
      const series = await sink.latest({ device });
      for (const s of series) {
        if (scope.metric !== undefined && s.metric !== scope.metric) continue;
        if (metrics && !metrics.includes(s.metric)) continue;
        for (const ts of await sink.readingTimes(device, s.metric, scope.from, scope.to))
          out.push({ device, metric: s.metric, ts, place });
      }
    }
    return out;
  }

  /** Gives every stored reading of the scope `flag`, in cloud.db and the sink. Returns how many. */
  async function applyToStored(
    scope: FlagScope,
    flag: DataFlag,
    metrics?: readonly string[],
  ): Promise<number> {
    const found = await readingsIn(scope, metrics);
    await store.setFlags(
      found.map((r) => ({ device: r.device, metric: r.metric, ts: r.ts, station: r.place.station })),
      flag,
    );
    const byDevice = new Map<string, { place: PlaceTags; flags: FlagWrite[] }>();
    for (const r of found) {
      const g = byDevice.get(r.device) ?? { place: r.place, flags: [] };
      g.flags.push({ device: r.device, metric: r.metric, ts: r.ts, flag });
      byDevice.set(r.device, g);
    }
    for (const g of byDevice.values()) await toSink(g.place, g.flags);
    return found.length;
  }

  function checkScope(scope: FlagScope): void {
    if (scope.device === undefined && scope.station === undefined)
      throw new QualityCommandError(400, 'bad_scope', 'give a device or a station');
    if (!Number.isFinite(scope.from) || !Number.isFinite(scope.to) || scope.to <= scope.from)
      throw new QualityCommandError(400, 'bad_range', `from (${scope.from}) must be before to (${scope.to})`);
  }

  return {
    judge(batch) {
      const place = batch.place;
      const writes: Promise<void>[] = [];
      for (const r of batch.readings) {
        writes.push(store.notePlace(r.device, place));
        const d = config.devices[r.device];
        if (d === undefined)
          config.devices[r.device] = {
            profile: 'default',
            ...(place.station ? { station: place.station } : {}),
          };
        else if (d.station === undefined && place.station) d.station = place.station;
      }
      const results: QcResult[] = qualityControl(config, state, batch.readings, active);
      const rows: FlagRow[] = [];
      const sinkFlags: FlagWrite[] = [];
      const out: Omit<JudgedBatch, 'written'> = { results: [], good: [] };
      for (const q of results) {
        const r = q.reading;
        const station = config.devices[r.device]?.station ?? place.station;
        const override = overrideOf(r, station);
        const flag = override ?? q.flag;
        judged.inc({ flag });
        out.results.push({ reading: r, flag });
        if (flag === 'N') out.good.push(r);
        if (q.flag === 'N' && override === undefined) continue;
        rows.push({
          device: r.device,
          metric: r.metric,
          ts: r.ts,
          station,
          autoFlag: q.flag,
          flag,
          reasons: q.reasons,
        });
        sinkFlags.push({ device: r.device, metric: r.metric, ts: r.ts, flag });
      }
      if (rows.length > 0) {
        const audits = rows
          .filter((row) => row.autoFlag !== 'N')
          .map((row) => ({
            at: batch.receivedAt,
            actor: 'qc',
            action: 'auto' as const,
            device: row.device,
            metric: row.metric,
            station: row.station,
            from: row.ts,
            to: row.ts + 1,
            flag: row.autoFlag,
            reason: row.reasons.map((x) => `${x.code}: ${x.detail}`).join('; '),
            readings: 1,
          }));
        writes.push(store.putAuto(rows, audits));
        void toSink(place, sinkFlags);
      }
      return { ...out, written: Promise.all(writes).then(() => undefined) };
    },
    refresh,
    flags: (q) => store.flags(q),
    audit: (q) => store.audit(q),
    windows: () => store.windows(true),
    async setWindow(w) {
      if (w.device === undefined && w.station === undefined)
        throw new QualityCommandError(400, 'bad_scope', 'a window names a device or a station');
      if (!(w.to > w.from))
        throw new QualityCommandError(400, 'bad_range', `from (${w.from}) must be before to (${w.to})`);
      const now = deps.now();
      const stored: StoredWindow = {
        ...w,
        id: `w-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        createdAt: now,
        removedAt: null,
      };
      const flag: DataFlag = w.kind === 'maintenance' ? 'M' : 'C';
      const station =
        w.station ?? (w.device !== undefined ? ((await store.placeOf(w.device))?.station ?? null) : null);
      await store.putWindow(stored, {
        at: now,
        actor: w.actor,
        action: 'window_set',
        device: w.device ?? null,
        metric: w.metrics?.join(',') ?? null,
        station,
        from: w.from,
        to: w.to,
        flag,
        reason: w.reason ?? w.kind,
        readings: 0,
      });
      active = await store.windows(true);
      // A window set afterwards ("I calibrated this morning") flags what is already stored, too.
      const scope: FlagScope = {
        from: w.from,
        to: Math.min(w.to, now + 1),
        ...(w.device ? { device: w.device } : {}),
        ...(w.station ? { station: w.station } : {}),
      };
      if (scope.to > scope.from) {
        await applyToStored(scope, flag, w.metrics);
        await emit({ scope: { ...scope, ...(w.metrics ? { metrics: w.metrics } : {}) }, flag });
      }
      return stored;
    },
    async removeWindow(id, actor) {
      const now = deps.now();
      const w = await store.removeWindow(id, actor, now, (removed) => ({
        at: now,
        actor,
        action: 'window_removed',
        device: removed.device ?? null,
        metric: removed.metrics?.join(',') ?? null,
        station: removed.station ?? null,
        from: removed.from,
        to: removed.to,
        flag: null,
        reason: `window ${id} removed`,
        readings: 0,
      }));
      if (!w) throw new QualityCommandError(404, 'unknown_window', `no active window ${id}`);
      active = await store.windows(true);
      return w;
    },
    async change(action, scope, actor, reason) {
      checkScope(scope);
      if (reason.trim() === '') throw new QualityCommandError(400, 'reason_required', 'give a reason');
      const flag: DataFlag = action === 'invalidate' ? 'I' : 'N';
      const station =
        scope.station ??
        (scope.device !== undefined ? ((await store.placeOf(scope.device))?.station ?? null) : null);
      const readings = await applyToStored(scope, flag);
      const entry = await store.addAudit({
        at: deps.now(),
        actor,
        action,
        device: scope.device ?? null,
        metric: scope.metric ?? null,
        station: scope.station ?? null,
        from: scope.from,
        to: scope.to,
        flag,
        reason,
        readings,
      });
      overrides = await store.overrides();
      await emit({ scope, flag });
      log.info({ action, actor, scope, readings, reason }, 'quality: an officer changed data flags');
      return { ...entry, station: entry.station ?? station };
    },
    placeOf: (device) => store.placeOf(device),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await loaded;
      await queue;
    },
  };
}
