import { topics } from '@village/protocol';
import type { Logger } from 'pino';
import type { RedriveResult } from '../http/dead-letter-routes.js';
import type { SinkBatch } from '../sink/sink.js';
import type { Sink } from '../sink/sink.js';
import type { DeadLetterStore } from '../store/dead-letter-store.js';
import type { BatchOutcome } from './batch-ingest.js';

export interface DeadLetterRedriveDeps {
  deadLetters: DeadLetterStore;
  /** The cloud's batch ingest (what `up/batch` messages go through). */
  ingestBatch(topic: string, payload: Uint8Array): Promise<BatchOutcome>;
  sink: Sink;
  /** The cloud's one-at-a-time runner: a re-drive never interleaves with the ingest. */
  serially(work: () => Promise<unknown>, done: () => void): void;
  log: Logger;
  now(): number;
}

/**
 * Re-drive of one dead letter, once its cause is fixed (a cloud upgrade that decodes the edge's
 * encoding, a field dropped from InfluxDB): a batch goes through the ingest again as if just
 * received (its seq dedupe still applies); a point is written through the sink again, with no
 * seq state to record. Stored → the letter is marked `redriven`; refused again → it stays open
 * (the refusal bumps its count).
 */
export function createDeadLetterRedrive(deps: DeadLetterRedriveDeps): (id: number) => Promise<RedriveResult> {
  const inTurn = <T>(work: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      deps.serially(
        () => work().then(resolve, reject),
        () => {},
      );
    });

  return (id) =>
    inTurn(async (): Promise<RedriveResult> => {
      const letter = deps.deadLetters.get(id);
      if (letter === undefined || letter.state !== 'open' || !letter.bytesKept)
        return { result: 'still_failing', reason: 'not an open dead letter with its bytes' };
      let outcome: string;
      if (letter.kind === 'batch') {
        outcome = await deps.ingestBatch(topics.batch(letter.edge), letter.bytes);
        if (outcome !== 'committed' && outcome !== 'duplicate')
          return { result: 'still_failing', reason: `the batch is still ${outcome}` };
      } else {
        const batch = JSON.parse(Buffer.from(letter.bytes).toString('utf8')) as SinkBatch;
        const written = await deps.sink.commitBatch(batch, () => {});
        if ((written.deadLettered ?? 0) > 0)
          return { result: 'still_failing', reason: `the ${deps.sink.name} sink refused it again` };
        outcome = 'committed';
      }
      deps.deadLetters.markRedriven(id, deps.now());
      deps.log.info(
        { deadLetter: id, kind: letter.kind, edge: letter.edge, outcome },
        'dead letter re-driven',
      );
      return { result: 'stored', outcome };
    });
}
