import { decodeBatch } from '@village/protocol';
import type { JournalRow } from '../shared-store/shared-store.js';
import {
  type TimeWindow,
  believableOnly,
  latestRange,
  markSuspectTimes,
} from '../sink/reading-time-window.js';
import type { PlaceTags, SinkBatch } from '../sink/sink.js';

/**
 * A shared-store journal row back as the batch the ingest committed, judged as the ingest judged
 * it (reading times outside the believable window are suspect and never fed), as journal-tail.ts
 * does for the one-host journal. Throws ProtocolError for bytes that do not decode.
 */
export function sinkBatchOfJournalRow(row: JournalRow, place: PlaceTags, timeWindow: TimeWindow): SinkBatch {
  const batch = decodeBatch(row.batch);
  const believable = latestRange(timeWindow, row.receivedAt);
  return believableOnly({
    edgeId: row.edge,
    historical: batch.historical,
    receivedAt: row.receivedAt,
    place,
    readings: markSuspectTimes(batch.readings, believable).readings,
    events: batch.events,
    believable,
  });
}
