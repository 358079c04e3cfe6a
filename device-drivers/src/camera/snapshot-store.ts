import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Event snapshots on the edge disk, under a per-image and a total byte cap. File names start with
 * a zero-padded timestamp and a sequence number, so name order is age order and the oldest go
 * first when space is needed. Every eviction is reported through `onEvict`.
 */
export interface StoredSnapshot {
  path: string;
  sha256: string;
  bytes: number;
}

export class SnapshotTooLargeError extends Error {
  override readonly name = 'SnapshotTooLargeError';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`snapshot of ${bytes} bytes exceeds the per-image cap of ${limit} bytes`);
  }
}

export interface SnapshotStore {
  save(cameraId: string, image: Uint8Array, contentType: string, now: number): StoredSnapshot;
  totalBytes(): number;
}

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/jpg': 'jpg', 'image/png': 'png' };

export function openSnapshotStore(
  dir: string,
  caps: { maxImageBytes: number; maxTotalBytes: number },
  onEvict: (file: string, bytes: number) => void,
): SnapshotStore {
  mkdirSync(dir, { recursive: true });
  const files: { name: string; bytes: number }[] = readdirSync(dir)
    .filter((n) => /^\d{13}-/.test(n))
    .sort()
    .map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
  let total = files.reduce((s, f) => s + f.bytes, 0);
  let seq = 0;

  return {
    save(cameraId, image, contentType, now) {
      const limit = Math.min(caps.maxImageBytes, caps.maxTotalBytes);
      if (image.length > limit) throw new SnapshotTooLargeError(image.length, limit);
      while (total + image.length > caps.maxTotalBytes && files.length > 0) {
        const old = files.shift()!;
        try {
          unlinkSync(join(dir, old.name));
        } catch {
          // already removed by hand: still free its share
        }
        total -= old.bytes;
        onEvict(old.name, old.bytes);
      }
      const sha256 = createHash('sha256').update(image).digest('hex');
      const ext = EXT[contentType.toLowerCase().split(';')[0]!.trim()] ?? 'bin';
      seq = (seq + 1) % 1_000_000;
      const name = `${String(now).padStart(13, '0')}-${String(seq).padStart(6, '0')}-${cameraId}.${ext}`;
      const path = join(dir, name);
      writeFileSync(path, image);
      files.push({ name, bytes: image.length });
      total += image.length;
      return { path, sha256, bytes: image.length };
    },
    totalBytes: () => total,
  };
}
