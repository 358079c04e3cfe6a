import { deviceOf } from '../record/recording-format.js';
import { FrameError, type FrameOf, type FramePlayer, type PlayerDeps } from './frame-player.js';

/** Camera frames as HTTP pushes to the edge's listener (with the camera's credentials); acknowledged by a 2xx. */
export function createCameraPlayer(deps: PlayerDeps): FramePlayer<FrameOf<'camera'>> {
  return {
    async play(f, bytes, ctx) {
      const ep = ctx.sent();
      const st = ctx.station;
      if (ep.camera === undefined) throw new FrameError('no_endpoint', `station ${st} has no camera port`);
      const cred = deps.header.stations[st]?.cameras[deviceOf(f)];
      const headers: Record<string, string> = { 'content-type': f.meta.contentType };
      if (cred)
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      let res: Response;
      try {
        res = await fetch(`http://${ep.host}:${ep.camera}${f.meta.path}`, {
          method: 'POST',
          headers,
          body: bytes,
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        await res.arrayBuffer();
      } catch (err) {
        throw new FrameError('http_error', (err as Error).message);
      }
      if (res.status < 200 || res.status > 299)
        throw new FrameError(`http_${res.status}`, `HTTP ${res.status}`);
      deps.acked(f);
    },
  };
}
