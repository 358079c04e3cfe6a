import { describeIssues } from '@village/service-kit';
import { z } from 'zod';
import { ROLES } from '../auth/user-config.js';
import { hashPassword } from '../password-hash.js';
import { personSchema, registryId, registryName, stationSchema } from '../registry-file.js';
import { appendAudit } from './admin-audit.js';
import type { Db } from './open-database.js';
import { INSERT_PERSON, personColumns, personOfRow } from './registry-import.js';

/**
 * Create, change and remove each registry entity in the store, one transaction each with its
 * audit row (actor, time, entity before and after). Shapes are registry.yaml's, with the parent
 * named by id (a village has `town`, a station `village`, ...). The checks a file import makes
 * are made here too: ids unique, parents exist, a place still holding anything is not removed.
 */
export const ENTITY_KINDS = [
  'county',
  'town',
  'village',
  'station',
  'edge',
  'device',
  'person',
  'user',
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export type RegistryChangeCode = 'not_found' | 'exists' | 'unknown_parent' | 'in_use' | 'bad_entity';

export class RegistryChangeError extends Error {
  override readonly name = 'RegistryChangeError';
  constructor(
    readonly code: RegistryChangeCode,
    message: string,
  ) {
    super(message);
  }
}

type Entity = Record<string, unknown> & { id: string };

interface Spec {
  table: string;
  key: string;
  schema: z.ZodType<Record<string, unknown>>;
  /** The entity as the API shows it (never a password hash). */
  read(db: Db, id: string): Entity | undefined;
  list(db: Db): Entity[];
  /** Writes the validated entity (insert or replace of its registry fields). */
  write(db: Db, e: Record<string, unknown>, exists: boolean): void;
  remove(db: Db, id: string): void;
  /** [kind, id] of each place it hangs under. */
  parents(e: Record<string, unknown>): [EntityKind, string][];
  /** Why it may not be removed (what still refers to it), or []. */
  inUse(db: Db, id: string): string[];
}

const count = (db: Db, sql: string, id: string) => db.prepare<[string], { n: number }>(sql).get(id)!.n;
const usersAt = (db: Db, role: string, id: string) =>
  count(db, `SELECT count(*) AS n FROM registry_users WHERE role = '${role}' AND place = ?`, id);

/** County, town, village: id, name and the parent's id. */
function place(
  table: string,
  parent: { column: string; kind: EntityKind } | undefined,
  child: { table: string; column: string; what: string },
  role: string,
): Spec {
  const shape: Record<string, z.ZodType> = { id: registryId, name: registryName };
  if (parent) shape[parent.column] = registryId;
  const cols = ['id', 'name', ...(parent ? [parent.column] : [])];
  return {
    table,
    key: 'id',
    schema: z.strictObject(shape) as z.ZodType<Record<string, unknown>>,
    read: (db, id) =>
      db.prepare<[string], Entity>(`SELECT ${cols.join(', ')} FROM ${table} WHERE id = ?`).get(id),
    list: (db) => db.prepare<[], Entity>(`SELECT ${cols.join(', ')} FROM ${table} ORDER BY id`).all(),
    write(db, e, exists) {
      if (exists) db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(e.id);
      db.prepare(
        `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
      ).run(e);
    },
    remove: (db, id) => db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(id),
    parents: (e) => (parent ? [[parent.kind, e[parent.column] as string]] : []),
    inUse(db, id) {
      const n = count(db, `SELECT count(*) AS n FROM ${child.table} WHERE ${child.column} = ?`, id);
      const u = usersAt(db, role, id);
      return [...(n > 0 ? [`${n} ${child.what}`] : []), ...(u > 0 ? [`${u} users`] : [])];
    },
  };
}

const stationEntity = z.strictObject({
  id: registryId,
  village: registryId,
  name: registryName,
  waterBody: stationSchema.shape.waterBody.nullable(),
});
const edgeEntity = z.strictObject({ id: registryId, station: registryId });
const deviceEntity = z.strictObject({
  id: registryId,
  edge: registryId,
  kind: z.string().min(1).max(64),
  driver: z.string().min(1).max(64),
});
const userEntity = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._@-]'),
    name: z.string().min(1).max(100),
    role: z.enum(ROLES),
    place: registryId.nullable().default(null),
    /** Only on create (or through the password route); stored as its scrypt hash. */
    password: z.string().min(8).max(1024).optional(),
  })
  .refine((u) => (u.role === 'admin') === (u.place === null), {
    message: 'place is required for county, town and village officers, and not allowed for admin',
    path: ['place'],
  });

const SPECS: Record<EntityKind, Spec> = {
  county: place('counties', undefined, { table: 'towns', column: 'county', what: 'towns' }, 'county'),
  town: place(
    'towns',
    { column: 'county', kind: 'county' },
    { table: 'villages', column: 'town', what: 'villages' },
    'town',
  ),
  village: place(
    'villages',
    { column: 'town', kind: 'town' },
    { table: 'stations', column: 'village', what: 'stations' },
    'village',
  ),
  station: {
    table: 'stations',
    key: 'id',
    schema: stationEntity as z.ZodType<Record<string, unknown>>,
    read: (db, id) =>
      db
        .prepare<[string], Entity>(
          'SELECT id, village, name, water_body AS waterBody FROM stations WHERE id = ?',
        )
        .get(id),
    list: (db) =>
      db
        .prepare<[], Entity>('SELECT id, village, name, water_body AS waterBody FROM stations ORDER BY id')
        .all(),
    write(db, e, exists) {
      if (exists) db.prepare('DELETE FROM stations WHERE id = ?').run(e.id);
      db.prepare('INSERT INTO stations (id, village, name, water_body) VALUES (?, ?, ?, ?)').run(
        e.id,
        e.village,
        e.name,
        e.waterBody ?? null,
      );
    },
    remove: (db, id) => db.prepare('DELETE FROM stations WHERE id = ?').run(id),
    parents: (e) => [['village', e.village as string]],
    inUse(db, id) {
      const edges = count(db, 'SELECT count(*) AS n FROM edges WHERE station = ?', id);
      const people = count(db, 'SELECT count(*) AS n FROM people WHERE station = ?', id);
      return [...(edges > 0 ? [`${edges} edges`] : []), ...(people > 0 ? [`${people} people`] : [])];
    },
  },
  // An edge's row also holds its runtime state (online, boot); a registry edge is one placed at a
  // station. Creating one that the cloud already knows unplaced (cloud.yaml, or heard of) places it.
  edge: {
    table: 'edges',
    key: 'id',
    schema: edgeEntity as z.ZodType<Record<string, unknown>>,
    read: (db, id) =>
      db
        .prepare<[string], Entity>('SELECT id, station FROM edges WHERE id = ? AND station IS NOT NULL')
        .get(id),
    list: (db) =>
      db.prepare<[], Entity>('SELECT id, station FROM edges WHERE station IS NOT NULL ORDER BY id').all(),
    write(db, e) {
      db.prepare(
        'INSERT INTO edges (id, station) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET station = excluded.station',
      ).run(e.id, e.station);
    },
    remove: (db, id) => db.prepare('DELETE FROM edges WHERE id = ?').run(id),
    parents: (e) => [['station', e.station as string]],
    inUse: () => [],
  },
  // Pre-registered devices; a learned one (birth or batch) is adopted by creating it.
  device: {
    table: 'devices',
    key: 'id',
    schema: deviceEntity as z.ZodType<Record<string, unknown>>,
    read: (db, id) =>
      db
        .prepare<[string], Entity>(
          "SELECT id, edge, kind, driver FROM devices WHERE id = ? AND source = 'registry'",
        )
        .get(id),
    list: (db) =>
      db
        .prepare<[], Entity>(
          "SELECT id, edge, kind, driver FROM devices WHERE source = 'registry' ORDER BY id",
        )
        .all(),
    write(db, e) {
      db.prepare(
        `INSERT INTO devices (id, kind, driver, edge, source) VALUES (?, ?, ?, ?, 'registry')
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, edge = excluded.edge,
           source = 'registry'`,
      ).run(e.id, e.kind, e.driver, e.edge);
    },
    remove: (db, id) => db.prepare('DELETE FROM devices WHERE id = ?').run(id),
    parents: () => [],
    inUse: () => [],
  },
  person: {
    table: 'people',
    key: 'id',
    schema: personSchema as unknown as z.ZodType<Record<string, unknown>>,
    read(db, id) {
      const row = db
        .prepare<[string], Parameters<typeof personOfRow>[0]>('SELECT * FROM people WHERE id = ?')
        .get(id);
      return row && (personOfRow(row) as Entity);
    },
    list: (db) =>
      db
        .prepare<[], Parameters<typeof personOfRow>[0]>('SELECT * FROM people ORDER BY id')
        .all()
        .map((r) => personOfRow(r) as Entity),
    write(db, e, exists) {
      if (exists) db.prepare('DELETE FROM people WHERE id = ?').run(e.id);
      db.prepare(INSERT_PERSON).run(...personColumns(e as z.infer<typeof personSchema>));
    },
    remove: (db, id) => db.prepare('DELETE FROM people WHERE id = ?').run(id),
    parents: (e) => [['station', e.station as string]],
    inUse: () => [],
  },
  // Officers kept in the store; the API calls the username `id`. cloud.yaml's users are not here.
  user: {
    table: 'registry_users',
    key: 'username',
    schema: userEntity as unknown as z.ZodType<Record<string, unknown>>,
    read: (db, id) =>
      db
        .prepare<[string], Entity>(
          'SELECT username AS id, name, role, place FROM registry_users WHERE username = ?',
        )
        .get(id),
    list: (db) =>
      db
        .prepare<[], Entity>('SELECT username AS id, name, role, place FROM registry_users ORDER BY username')
        .all(),
    write(db, e, exists) {
      if (exists) {
        db.prepare('UPDATE registry_users SET name = ?, role = ?, place = ? WHERE username = ?').run(
          e.name,
          e.role,
          e.place,
          e.id,
        );
        return;
      }
      if (typeof e.password !== 'string')
        throw new RegistryChangeError('bad_entity', 'user: password is required to create a user');
      db.prepare(
        'INSERT INTO registry_users (username, name, role, place, password_hash) VALUES (?, ?, ?, ?, ?)',
      ).run(e.id, e.name, e.role, e.place, hashPassword(e.password));
    },
    remove: (db, id) => db.prepare('DELETE FROM registry_users WHERE username = ?').run(id),
    parents: (e) => (e.role === 'admin' ? [] : [[e.role as EntityKind, e.place as string]]),
    inUse: () => [],
  },
};

export interface ChangeContext {
  actor: string;
  now: number;
  /**
   * Runs inside the change's transaction, after the write: throw to undo it (the rules compiled
   * against the changed registry, a username also in cloud.yaml).
   */
  check?(kind: EntityKind, after: Entity | null): void;
}

const parse = (kind: EntityKind, body: unknown): Record<string, unknown> => {
  const r = SPECS[kind].schema.safeParse(body);
  if (!r.success) throw new RegistryChangeError('bad_entity', describeIssues(kind, r.error.issues));
  return r.data;
};

function checkParents(db: Db, kind: EntityKind, e: Record<string, unknown>): void {
  for (const [parentKind, id] of SPECS[kind].parents(e))
    if (SPECS[parentKind].read(db, id) === undefined)
      throw new RegistryChangeError('unknown_parent', `${kind} ${e.id}: no ${parentKind} ${id}`);
}

export function listEntities(db: Db, kind: EntityKind): Entity[] {
  return SPECS[kind].list(db);
}

export function readEntity(db: Db, kind: EntityKind, id: string): Entity | undefined {
  return SPECS[kind].read(db, id);
}

function audited(
  db: Db,
  ctx: ChangeContext,
  kind: EntityKind,
  action: string,
  id: string,
  change: (before: Entity | undefined) => void,
): { before: Entity | null; after: Entity | null } {
  return db.transaction(() => {
    const before = SPECS[kind].read(db, id);
    change(before);
    const after = SPECS[kind].read(db, id) ?? null;
    ctx.check?.(kind, after);
    appendAudit(db, {
      ts: ctx.now,
      actor: ctx.actor,
      action,
      entity: kind,
      entityId: id,
      before: before ?? null,
      after,
    });
    return { before: before ?? null, after };
  })();
}

export function createEntity(db: Db, kind: EntityKind, body: unknown, ctx: ChangeContext) {
  const e = parse(kind, body);
  const id = e.id as string;
  return audited(db, ctx, kind, 'create', id, (before) => {
    if (before !== undefined) throw new RegistryChangeError('exists', `${kind} ${id} exists already`);
    checkParents(db, kind, e);
    SPECS[kind].write(db, e, false);
  });
}

/** Changes the fields given (the id stays); the whole entity is checked again. */
export function updateEntity(db: Db, kind: EntityKind, id: string, patch: unknown, ctx: ChangeContext) {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new RegistryChangeError('bad_entity', `${kind}: the body must be a JSON object`);
  if ('id' in patch && (patch as { id: unknown }).id !== id)
    throw new RegistryChangeError(
      'bad_entity',
      `${kind}.id: an id cannot change (remove and create instead)`,
    );
  if (kind === 'user' && 'password' in patch)
    throw new RegistryChangeError(
      'bad_entity',
      'user.password: set it with PUT /api/v1/admin/users/{id}/password',
    );
  return audited(db, ctx, kind, 'update', id, (before) => {
    if (before === undefined) throw new RegistryChangeError('not_found', `no ${kind} ${id}`);
    const merged = Object.fromEntries(
      Object.entries({ ...before, ...patch, id }).filter(([, v]) => v !== null || kind !== 'person'),
    );
    const e = parse(kind, merged);
    checkParents(db, kind, e);
    SPECS[kind].write(db, e, true);
  });
}

export function removeEntity(db: Db, kind: EntityKind, id: string, ctx: ChangeContext) {
  return audited(db, ctx, kind, 'remove', id, (before) => {
    if (before === undefined) throw new RegistryChangeError('not_found', `no ${kind} ${id}`);
    const users = SPECS[kind].inUse(db, id);
    if (users.length > 0)
      throw new RegistryChangeError(
        'in_use',
        `${kind} ${id} still holds ${users.join(' and ')}: remove them first`,
      );
    SPECS[kind].remove(db, id);
  });
}

/**
 * Sets (or resets) a store user's password (scrypt, as every password). Audited without the hash.
 * The caller then ends the user's sessions (SessionStore.deleteUser, http/admin-routes.ts): they
 * live in cloud.db or, with several hosts, in PostgreSQL, outside this transaction.
 */
export function setUserPassword(db: Db, username: string, password: string, ctx: ChangeContext): void {
  if (password.length < 8 || password.length > 1024)
    throw new RegistryChangeError('bad_entity', 'password: must be 8 to 1024 characters');
  db.transaction(() => {
    const before = SPECS.user.read(db, username);
    if (before === undefined) throw new RegistryChangeError('not_found', `no user ${username}`);
    db.prepare('UPDATE registry_users SET password_hash = ? WHERE username = ?').run(
      hashPassword(password),
      username,
    );
    appendAudit(db, {
      ts: ctx.now,
      actor: ctx.actor,
      action: 'set-password',
      entity: 'user',
      entityId: username,
      before: null,
      after: null,
    });
  })();
}

/** The store's users as the auth layer takes them (with their hashes). */
export function storeUsers(
  db: Db,
): { username: string; name: string; role: (typeof ROLES)[number]; place?: string; passwordHash: string }[] {
  return db
    .prepare<
      [],
      {
        username: string;
        name: string;
        role: (typeof ROLES)[number];
        place: string | null;
        password_hash: string;
      }
    >('SELECT * FROM registry_users ORDER BY username')
    .all()
    .map((u) => ({
      username: u.username,
      name: u.name,
      role: u.role,
      ...(u.place !== null ? { place: u.place } : {}),
      passwordHash: u.password_hash,
    }));
}
