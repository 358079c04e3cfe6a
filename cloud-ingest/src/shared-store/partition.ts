import type { PlaceTags } from '../sink/sink.js';

/** The partition of an edge without a village in the registry: its batches are journaled there. */
export const NO_PARTITION = '-';

/**
 * The rules partition a batch belongs to (SharedStore `CommitItem.partition`): its edge's village
 * from the registry, so one partition's owner sees every batch its rules judge together.
 */
export const partitionOf = (place: PlaceTags): string => place.village ?? NO_PARTITION;
