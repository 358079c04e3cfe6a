import { topics } from '@village/protocol';
import type { Logger } from 'pino';
import type { RedriveResult } from '../http/dead-letter-routes.js';
import type { SinkBatch } from '../sink/sink.js';
import type { Sink } from '../sink/sink.js';
import type { DeadLetterStore, DeadLetterWithBytes } from '../store/dead-letter-store.js';
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
 * (the refusal bumps its count). The letter is claimed first (store.claim): with several hosts
 * it may be any host's, and another host re-driving it at the same time gets `in_progress`.
 */
export function createDeadLetterRedrive(deps: DeadLetterRedriveDeps): (id: number) => Promise<RedriveResult> {
  const inTurn = <T>(work: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      deps.serially(
        () => work().then(resolve, reject),
        () => {},
      );
    });

  const write = async (letter: DeadLetterWithBytes): Promise<RedriveResult> => {
    if (letter.kind === 'batch') {
      const outcome = await deps.ingestBatch(topics.batch(letter.edge), letter.bytes);
      return outcome === 'committed' || outcome === 'duplicate'
        ? { result: 'stored', outcome }
        : { result: 'still_failing', reason: `the batch is still ${outcome}` };
    }
    const batch = JSON.parse(Buffer.from(letter.bytes).toString('utf8')) as SinkBatch;
    const written = await deps.sink.commitBatch(batch, () => {});
    return (written.deadLettered ?? 0) > 0
      ? { result: 'still_failing', reason: `the ${deps.sink.name} sink refused it again` }
      : { result: 'stored', outcome: 'committed' };
  };

  return (id) =>
    inTurn(async (): Promise<RedriveResult> => {
      const claim = await deps.deadLetters.claim(id, deps.now());
      if (claim.result === 'busy') return { result: 'in_progress' };
      if (claim.result === 'not_open')
        return { result: 'still_failing', reason: 'not an open dead letter with its bytes' };
      const { letter, token } = claim;
      let r: RedriveResult | undefined;
      try {
        r = await write(letter);
      } finally {
        await deps.deadLetters.settle(id, token, r?.result === 'stored', deps.now());
      }
      if (r.result === 'stored')
        deps.log.info(
          { deadLetter: id, kind: letter.kind, edge: letter.edge, outcome: r.outcome },
          'dead letter re-driven',
        );
      return r;
    });
}
