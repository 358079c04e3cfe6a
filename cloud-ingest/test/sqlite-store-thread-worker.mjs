// One SQLite shared store in its own thread, with its own connection to cloud.db: several of these
// commit truly at once, as the workers of one host do (in one thread, better-sqlite3's calls
// never overlap). Runs the built store (dist), like the tests that run the built bin.
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const dist = join(import.meta.dirname, '..', 'dist');
const { openDatabase } = await import(join(dist, 'store', 'open-database.js'));
const { openSqliteSharedStore } = await import(join(dist, 'shared-store', 'sqlite-shared-store.js'));

const db = openDatabase(workerData.dir);
const store = openSqliteSharedStore(db);
/** fireDue's callback runs in the test's thread: each call waits for its answer. */
const fires = new Map();
let nextFire = 0;

parentPort.on('message', async (m) => {
  if (m.fireId !== undefined) {
    const f = fires.get(m.fireId);
    fires.delete(m.fireId);
    if (m.error === undefined) f.resolve();
    else f.reject(new Error(m.error));
    return;
  }
  try {
    let result;
    if (m.method === 'fireDue') {
      const [now, limit] = m.args;
      result = await store.fireDue(now, limit, (deadline) => {
        const fireId = nextFire++;
        const done = new Promise((resolve, reject) => fires.set(fireId, { resolve, reject }));
        parentPort.postMessage({ fire: deadline, fireId });
        return done;
      });
    } else if (m.method === 'close') {
      db.close();
      result = undefined;
    } else if (m.method === 'seriesCatalog.note') {
      const [batches, measurements] = m.args;
      result = await store.seriesCatalog.note(batches, (device) => measurements[device]);
    } else if (m.method.startsWith('seriesCatalog.')) {
      result = await store.seriesCatalog[m.method.slice('seriesCatalog.'.length)](...m.args);
    } else {
      // `commands.insert`, `sessions.get` and the like: a method of one of the store's parts.
      const dot = m.method.indexOf('.');
      const [owner, method] =
        dot > 0 ? [store[m.method.slice(0, dot)], m.method.slice(dot + 1)] : [store, m.method];
      result = await owner[method](...m.args);
    }
    parentPort.postMessage({ id: m.id, result });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { name: err.name, message: err.message, code: err.code } });
  }
});
