import type { FrameOf, FramePlayer, PlayerDeps } from './frame-player.js';

/** `link` frames cut or restore the edge's MQTT uplink through its relay; acknowledged at once. */
export function createLinkPlayer(deps: PlayerDeps): FramePlayer<FrameOf<'link'>> {
  return {
    play(f, _bytes, ctx) {
      const relay = ctx.endpoints?.relay;
      if (!relay) {
        ctx.skipped();
        return;
      }
      relay.setDown(f.meta.state === 'down');
      ctx.sentQuietly();
      deps.acked(f);
    },
  };
}
