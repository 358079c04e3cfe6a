/**
 * Liveness of each camera from the traffic it sends (events, heartbeats, SIP keepalives): one
 * `offline` when a camera has been silent longer than its heartbeatTimeoutMs, and one `online`
 * when it is heard from again. A camera never heard since start counts from the start time.
 */
export interface CameraHealth {
  seen(cameraId: string): void;
  stop(): void;
}

export function startCameraHealth(
  cameras: { id: string; heartbeatTimeoutMs: number }[],
  now: () => number,
  /** Reports a change; if the promise rejects (event not stored), the change is reported again later. */
  onChange: (cameraId: string, state: 'online' | 'offline', silentMs: number) => Promise<void>,
): CameraHealth {
  const start = now();
  const state = new Map(
    cameras.map((c) => [c.id, { lastSeen: start, offline: false, timeoutMs: c.heartbeatTimeoutMs }]),
  );
  // Check four times per shortest timeout: an outage is reported within 1.25 timeouts.
  const period = Math.max(50, Math.min(...cameras.map((c) => c.heartbeatTimeoutMs)) / 4);
  const timer = setInterval(() => {
    const t = now();
    for (const [id, s] of state) {
      if (!s.offline && t - s.lastSeen > s.timeoutMs) {
        s.offline = true;
        // not stored: forget it was reported, so the next check reports it again
        onChange(id, 'offline', t - s.lastSeen).catch(() => {
          s.offline = false;
        });
      }
    }
  }, period);
  timer.unref();
  return {
    seen(id) {
      const s = state.get(id);
      if (!s) return;
      const t = now();
      if (s.offline) {
        s.offline = false;
        onChange(id, 'online', t - s.lastSeen).catch(() => {});
      }
      s.lastSeen = t;
    },
    stop: () => clearInterval(timer),
  };
}
