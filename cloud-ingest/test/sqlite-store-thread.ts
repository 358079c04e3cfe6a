import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Deadline, LeaseLostError, type SharedStore } from '../src/shared-store/shared-store.js';

type Reply =
  | { id: number; result?: unknown; error?: { name: string; message: string; code?: string } }
  | { fire: Deadline; fireId: number };

/**
 * A SharedStore whose SQLite store runs in a worker thread of its own (sqlite-store-thread-worker.mjs)
 * on `dir`'s cloud.db, so several of them commit at once. Calls and results cross as messages;
 * fireDue's `fire` runs here, in the test's thread.
 */
export function openSqliteStoreInThread(dir: string): SharedStore {
  const worker = new Worker(join(import.meta.dirname, 'sqlite-store-thread-worker.mjs'), {
    workerData: { dir },
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let fire: ((d: Deadline) => Promise<void>) | undefined;
  let nextId = 0;
  worker.on('message', (m: Reply) => {
    if ('fireId' in m) {
      fire!(m.fire).then(
        () => worker.postMessage({ fireId: m.fireId }),
        (err: Error) => worker.postMessage({ fireId: m.fireId, error: err.message }),
      );
      return;
    }
    const p = pending.get(m.id)!;
    pending.delete(m.id);
    if (m.error === undefined) p.resolve(m.result);
    else if (m.error.name === 'LeaseLostError') p.reject(new LeaseLostError(m.error.message));
    else p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  const call = <T>(method: string, ...args: unknown[]): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args });
    });
  return {
    kind: 'sqlite',
    commands: {
      insert: (...a) => call('commands.insert', ...a),
      complete: (...a) => call('commands.complete', ...a),
      get: (...a) => call('commands.get', ...a),
      pending: (...a) => call('commands.pending', ...a),
      fail: (...a) => call('commands.fail', ...a),
    },
    deviceOwners: {
      claim: (...a) => call('deviceOwners.claim', ...a),
      owners: () => call('deviceOwners.owners'),
    },
    sessions: {
      create: (...a) => call('sessions.create', ...a),
      get: (...a) => call('sessions.get', ...a),
      delete: (...a) => call('sessions.delete', ...a),
      deleteUser: (...a) => call('sessions.deleteUser', ...a),
      purge: (...a) => call('sessions.purge', ...a),
      liveIds: (...a) => call('sessions.liveIds', ...a),
    },
    apiTokens: {
      issue: (...a) => call('apiTokens.issue', ...a),
      verify: (...a) => call('apiTokens.verify', ...a),
      list: () => call('apiTokens.list'),
      revoke: (...a) => call('apiTokens.revoke', ...a),
    },
    registry: {
      version: () => call('registry.version'),
      read: () => call('registry.read'),
      // Its change is a function working on the caller's cloud.db, which does not cross to the
      // thread: test/shared-registry-suite.ts runs on one connection per store instead.
      update: () => Promise.reject(new Error('registry.update does not run in a store thread')),
    },
    seriesCatalog: {
      // A function does not cross to the thread: each device's measurement goes as data.
      note: (batches, measurementOf) =>
        call(
          'seriesCatalog.note',
          batches,
          Object.fromEntries(
            batches.flatMap((b) => b.readings.map((r) => [r.device, measurementOf(r.device)])),
          ),
        ),
      find: (...a) => call('seriesCatalog.find', ...a),
      list: (...a) => call('seriesCatalog.list', ...a),
    },
    deadLetters: {
      add: (...a) => call('deadLetters.add', ...a),
      list: (...a) => call('deadLetters.list', ...a),
      get: (...a) => call('deadLetters.get', ...a),
      claim: (...a) => call('deadLetters.claim', ...a),
      settle: (...a) => call('deadLetters.settle', ...a),
    },
    ruleViews: {
      put: (...a) => call('ruleViews.put', ...a),
      alerts: (...a) => call('ruleViews.alerts', ...a),
      incidents: (...a) => call('ruleViews.incidents', ...a),
      incident: (...a) => call('ruleViews.incident', ...a),
    },
    // Their callbacks (removeWindow's audit, publish's compute) do not cross to the thread:
    // test/shared-air-quality-suite.ts runs on one connection per store instead.
    quality: {
      putAuto: (...a) => call('quality.putAuto', ...a),
      flags: (...a) => call('quality.flags', ...a),
      setFlags: (...a) => call('quality.setFlags', ...a),
      overrides: () => call('quality.overrides'),
      audit: (...a) => call('quality.audit', ...a),
      addAudit: (...a) => call('quality.addAudit', ...a),
      windows: (...a) => call('quality.windows', ...a),
      putWindow: (...a) => call('quality.putWindow', ...a),
      removeWindow: () => Promise.reject(new Error('quality.removeWindow does not run in a store thread')),
      notePlace: (...a) => call('quality.notePlace', ...a),
      placeOf: (...a) => call('quality.placeOf', ...a),
      devicesAt: (...a) => call('quality.devicesAt', ...a),
      version: () => call('quality.version'),
    },
    aqi: {
      addSamples: (...a) => call('aqi.addSamples', ...a),
      setFlags: (...a) => call('aqi.setFlags', ...a),
      due: (...a) => call('aqi.due', ...a),
      publish: () => Promise.reject(new Error('aqi.publish does not run in a store thread')),
      list: (...a) => call('aqi.list', ...a),
      sampleCounts: (...a) => call('aqi.sampleCounts', ...a),
      latest: () => call('aqi.latest'),
    },
    hostBeats: {
      beat: (...a) => call('hostBeats.beat', ...a),
      live: (...a) => call('hostBeats.live', ...a),
      leave: (...a) => call('hostBeats.leave', ...a),
    },
    ruleCommands: {
      send: (...a) => call('ruleCommands.send', ...a),
      pending: (...a) => call('ruleCommands.pending', ...a),
      answer: (...a) => call('ruleCommands.answer', ...a),
      result: (...a) => call('ruleCommands.result', ...a),
      cancel: (...a) => call('ruleCommands.cancel', ...a),
      forget: (...a) => call('ruleCommands.forget', ...a),
    },
    deliveries: {
      put: (...a) => call('deliveries.put', ...a),
      byIncident: (...a) => call('deliveries.byIncident', ...a),
    },
    isCommitted: (...a) => call('isCommitted', ...a),
    committedAmong: (...a) => call('committedAmong', ...a),
    snapshot: (...a) => call('snapshot', ...a),
    epochChange: (...a) => call('epochChange', ...a),
    recordCommits: (...a) => call('recordCommits', ...a),
    readJournal: (...a) => call('readJournal', ...a),
    partitions: () => call('partitions'),
    acquireLease: (...a) => call('acquireLease', ...a),
    releaseLease: (...a) => call('releaseLease', ...a),
    saveRulesState: (...a) => call('saveRulesState', ...a),
    loadRulesState: (...a) => call('loadRulesState', ...a),
    scheduleDeadline: (...a) => call('scheduleDeadline', ...a),
    cancelDeadline: (...a) => call('cancelDeadline', ...a),
    async fireDue(now, limit, f) {
      fire = f; // one fireDue at a time per store, as a host runs it
      try {
        return await call<number>('fireDue', now, limit);
      } finally {
        fire = undefined;
      }
    },
    async close() {
      await call('close');
      await worker.terminate();
    },
  };
}
