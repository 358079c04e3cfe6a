import { ProtocolError, decodeCommandResult, parseTopic } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import type { CommandStore } from '../store/command-store.js';

/** Results on `v1/e/{edge}/up/cmd-result`: an edge can complete only its own commands (the ACL and the store both check). */
export function createCommandResultIngest(deps: {
  commands: CommandStore;
  metrics: CloudMetrics;
  log: Logger;
  now(): number;
}): (topic: string, payload: Uint8Array) => Promise<void> {
  return async (topic, payload) => {
    try {
      const { edgeId } = parseTopic(topic);
      const result = decodeCommandResult(payload);
      const applied = await deps.commands.complete(edgeId, result, deps.now());
      deps.metrics.commandResults.inc({ result: applied ? (result.ok ? 'ok' : 'error') : 'unknown' });
      deps.log.info(
        { edge: edgeId, id: result.id, ok: result.ok, error: result.error, applied },
        'command result',
      );
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      deps.metrics.commandResults.inc({ result: 'malformed' });
      deps.log.warn({ topic, code: err.code, err: err.message }, 'malformed command result dropped');
    }
  };
}
