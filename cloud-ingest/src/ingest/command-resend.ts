import { LIMITS, encodeJson, topics } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import type { CommandStore } from '../store/command-store.js';

export interface CommandResendDeps {
  commands: CommandStore;
  metrics: CloudMetrics;
  log: Logger;
  now(): number;
  publish(topic: string, payload: Uint8Array): Promise<void>;
}

/**
 * The command-resend policy, run at an edge's birth. An edge's session is clean on every connect,
 * so a command sent while it was away is gone: resend what has no result yet. The edge runs a
 * command id once and answers repeats from memory.
 */
export function createCommandResend(deps: CommandResendDeps): (edge: string) => Promise<void> {
  const { commands, metrics, log, now, publish } = deps;
  return async (edge) => {
    for (const c of await commands.pending(edge, now())) {
      const cmd = {
        id: c.id,
        device: c.device,
        action: c.action,
        params: c.params,
        expiresAt: c.expiresAt,
      };
      const bytes = encodeJson(cmd);
      // The edge refuses a command message over its limit unread, so it would never answer and
      // the command would be resent at every birth until it expires: it fails here, once, instead.
      if (bytes.length > LIMITS.maxControlBytes) {
        const error = `too_large: the command is ${bytes.length} bytes, an edge takes at most ${LIMITS.maxControlBytes}`;
        await commands.fail(c.id, error, now());
        metrics.commandResults.inc({ result: 'too_large' });
        log.warn(
          { edge, id: c.id, bytes: bytes.length },
          'command too large for the edge: failed, not resent',
        );
        continue;
      }
      publish(topics.cmd(edge), bytes).catch((err: Error) =>
        log.warn({ edge, id: c.id, err: err.message }, 'command resend failed'),
      );
    }
  };
}
