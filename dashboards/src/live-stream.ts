import {
  STREAM_MESSAGE_TYPES,
  type StreamData,
  type StreamMessage,
  type StreamMessageType,
  streamMessageSchema,
} from '@village/protocol/api';
import { describeMismatch } from './api-client.js';

export type LiveListener = { [K in StreamMessageType]?: (data: StreamData[K]) => void };

const listeners = new Set<LiveListener>();
let source: EventSource | undefined;
let badMessages = 0;
/** Stream messages dropped because they were not JSON or not of @village/protocol/api. */
export const badStreamMessageCount = () => badMessages;

/**
 * One SSE message as the contract says (`type` is the SSE event name, `data` its JSON), or the
 * reason it is not one.
 */
export function parseStreamMessage(
  type: string,
  text: string,
): { ok: true; message: StreamMessage } | { ok: false; reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: `stream ${type}: data is not JSON: ${text.slice(0, 80)}` };
  }
  const r = streamMessageSchema.safeParse({ type, data });
  return r.success
    ? { ok: true, message: r.data }
    : { ok: false, reason: describeMismatch(`stream ${type}`, r.error) };
}

function dispatch(m: StreamMessage): void {
  for (const l of listeners) {
    // Each case narrows `m`, so every listener gets the data of its own type.
    if (m.type === 'reading') l.reading?.(m.data);
    else if (m.type === 'event') l.event?.(m.data);
    else if (m.type === 'alert') l.alert?.(m.data);
    else l.incident?.(m.data);
  }
}

/**
 * One EventSource on /api/v1/stream for the whole page; views add listeners. The browser
 * reconnects by itself (the cloud drops a client that falls too far behind, see live-routes.ts).
 * A message outside the contract is dropped, counted and logged; the stream goes on.
 */
export function startLive(): void {
  if (source) return;
  source = new EventSource('/api/v1/stream');
  for (const type of STREAM_MESSAGE_TYPES) {
    source.addEventListener(type, ((msg: MessageEvent<string>) => {
      const r = parseStreamMessage(type, msg.data);
      if (r.ok) dispatch(r.message);
      else {
        badMessages++;
        console.error(r.reason);
      }
    }) as EventListener);
  }
  source.addEventListener('open', () => document.body.classList.add('live-on'));
  source.addEventListener('error', () => document.body.classList.remove('live-on'));
}

export function stopLive(): void {
  source?.close();
  source = undefined;
}

export function onLive(listener: LiveListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
