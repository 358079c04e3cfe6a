import { ProtocolError } from './errors.js';
import { ID_PATTERN } from './limits.js';

/** Topic tree of DESIGN.md. An edge publishes only under its own `up/`, subscribes only to its `down/`. */
export const TOPIC_ROOT = 'v1/e';

export type UpChannel = 'batch' | 'status' | 'cmd-result';
export type DownChannel = 'ack' | 'cmd';
const UP: readonly string[] = ['batch', 'status', 'cmd-result'];
const DOWN: readonly string[] = ['ack', 'cmd'];

export const topics = {
  batch: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/up/batch`,
  status: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/up/status`,
  cmdResult: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/up/cmd-result`,
  ack: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/down/ack`,
  cmd: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/down/cmd`,
  /** What an edge may publish to (ACL). */
  upFilter: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/up/#`,
  /** What an edge may subscribe to (ACL). */
  downFilter: (edgeId: string) => `${TOPIC_ROOT}/${checkId(edgeId)}/down/#`,
  /** What the ingest consumes, across all edges. */
  allUp: (channel: UpChannel) => `${TOPIC_ROOT}/+/up/${channel}`,
};

export type ParsedTopic =
  | { edgeId: string; direction: 'up'; channel: UpChannel }
  | { edgeId: string; direction: 'down'; channel: DownChannel };

/** Parses a concrete topic; throws ProtocolError('bad_topic') for anything outside the tree. */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) {
    throw new ProtocolError('bad_topic', 'topic', 'not under v1/e/{edgeId}/{up|down}/{channel}', topic);
  }
  const [, , edgeId, direction, channel] = parts as [string, string, string, string, string];
  if (!ID_PATTERN.test(edgeId)) throw new ProtocolError('bad_topic', 'topic', 'bad edge id', edgeId);
  if (direction === 'up' && UP.includes(channel)) {
    return { edgeId, direction, channel: channel as UpChannel };
  }
  if (direction === 'down' && DOWN.includes(channel)) {
    return { edgeId, direction, channel: channel as DownChannel };
  }
  throw new ProtocolError('bad_topic', 'topic', 'unknown direction or channel', topic);
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) throw new ProtocolError('bad_topic', 'edgeId', 'not a valid id', id);
  return id;
}
