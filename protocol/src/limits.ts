/**
 * Bounds every decoder enforces. Both sides import them, so the edge never cuts a batch the
 * cloud would refuse.
 */
export const LIMITS = {
  /** Largest encoded batch accepted, bytes. Also the MQTT max packet size the cloud advertises. */
  maxBatchBytes: 1024 * 1024,
  /** Readings in one batch. The edge cuts at most this many. */
  maxReadingsPerBatch: 20_000,
  /** Events in one batch. */
  maxEventsPerBatch: 1_000,
  /** Distinct device / metric / unit names in one batch's dictionary. */
  maxDictionaryEntries: 20_000,
  /** Length of any id or name (device, metric, unit, event type, edge id), characters. */
  maxNameLength: 128,
  /** Length of a string reading value or event data value, characters. */
  maxStringValue: 256,
  /** Keys in one event's data map. */
  maxEventDataKeys: 32,
  /** Timestamps must fall after this (2000-01-01) ... */
  minTimestamp: 946_684_800_000,
  /** ... and before this (2100-01-01), ms epoch. */
  maxTimestamp: 4_102_444_800_000,
  /** Largest status or command message, bytes (JSON). */
  maxControlBytes: 256 * 1024,
} as const;

/** Ids travel in MQTT topics: no wildcards, no separators, no spaces. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * An outbox epoch (DESIGN.md "Epoch"): the random id an edge's outbox gets when it is created,
 * 128 bits as 32 hex digits today; up to 64 URL-safe characters are accepted.
 */
export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The epoch of an edge that sends none (software from before epochs, or an outbox created
 * before them): its seqs form one stream, as they always did.
 */
export const LEGACY_EPOCH = '';
