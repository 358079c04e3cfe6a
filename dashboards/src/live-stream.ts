import type { LiveReading } from './api-types.js';

export type LiveListener = {
  reading?(r: LiveReading): void;
  event?(e: Record<string, unknown>): void;
  alert?(a: Record<string, unknown>): void;
  incident?(i: Record<string, unknown>): void;
};

const listeners = new Set<LiveListener>();
let source: EventSource | undefined;

/**
 * One EventSource on /api/v1/stream for the whole page; views add listeners. The browser
 * reconnects by itself (the cloud drops a client that falls too far behind, see live-routes.ts).
 */
export function startLive(): void {
  if (source) return;
  source = new EventSource('/api/v1/stream');
  const dispatch = (kind: keyof LiveListener) => (msg: MessageEvent<string>) => {
    const data = JSON.parse(msg.data);
    for (const l of listeners) (l[kind] as ((d: unknown) => void) | undefined)?.(data);
  };
  for (const kind of ['reading', 'event', 'alert', 'incident'] as const) {
    source.addEventListener(kind, dispatch(kind) as EventListener);
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
