import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ModbusDeviceConfig } from './modbus-config.js';
import { ProfileError } from './modbus-errors.js';
import { type Profile, profileSchema } from './profile-schema.js';

/** Folder of the shipped profiles (device-drivers/profiles), from src/modbus or dist/modbus alike. */
export const SHIPPED_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

/** Refuses profile files larger than this, bytes: a profile is a page of YAML, not a data dump. */
const MAX_PROFILE_BYTES = 256 * 1024;

/** Path of a shipped profile by name (`pm25-sensor` → profiles/pm25-sensor.yaml). */
export function shippedProfilePath(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new ProfileError(name, undefined, 'profile name may hold only letters, digits, . _ -');
  }
  return path.join(SHIPPED_PROFILES_DIR, `${name}.yaml`);
}

/**
 * The profile one configured device names (`profile:` shipped name, or `profilePath:` relative to
 * the edge config's folder), read and validated. The driver's start and the edge's config check
 * (modbusDriverKind.check) both load profiles through here.
 */
export function loadDeviceProfile(device: ModbusDeviceConfig, configDir: string): Profile {
  if (device.profilePath !== undefined) return loadProfileFile(path.resolve(configDir, device.profilePath));
  const file = shippedProfilePath(device.profile!);
  if (!existsSync(file)) {
    const shipped = readdirSync(SHIPPED_PROFILES_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length));
    throw new ProfileError(
      device.profile!,
      undefined,
      `no shipped profile of that name (shipped: ${shipped.join(', ')})`,
    );
  }
  return loadProfileFile(file);
}

/** Reads, parses and validates one profile file; throws ProfileError naming file, point and reason. */
export function loadProfileFile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError(file, undefined, `cannot read: ${(err as Error).message}`);
  }
  return parseProfile(text, file);
}

/** Validates profile YAML text; `file` only labels errors. */
export function parseProfile(text: string, file: string): Profile {
  if (text.length > MAX_PROFILE_BYTES) {
    throw new ProfileError(file, undefined, `larger than ${MAX_PROFILE_BYTES} bytes (${text.length})`);
  }
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ProfileError(file, undefined, `not valid YAML: ${(err as Error).message}`);
  }
  const result = profileSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const [head, index, ...rest] = issue.path;
  if (head === 'points' && typeof index === 'number') {
    const points = (raw as { points?: unknown[] }).points;
    const named = (points?.[index] as { name?: unknown } | undefined)?.name;
    const point = typeof named === 'string' ? named : `#${index}`;
    const field = rest.length > 0 ? `${rest.join('.')}: ` : '';
    throw new ProfileError(file, point, `${field}${issue.message}`);
  }
  const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new ProfileError(file, undefined, `${field}${issue.message}`);
}
