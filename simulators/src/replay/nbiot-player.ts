import coap from 'coap';
import { FrameError, type FrameOf, type FramePlayer, type PlayerDeps } from './frame-player.js';

function coapPost(
  host: string,
  port: number,
  imei: string,
  body: Buffer,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = coap.request({
      hostname: host,
      port,
      pathname: `/t/${imei}`,
      method: 'POST',
      confirmable: true,
    });
    req.setOption('Content-Format', 'application/cbor');
    const timer = setTimeout(
      () => reject(new FrameError('nbiot_timeout', `no CoAP answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume?.();
      resolve(res.code);
    });
    req.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(new FrameError('nbiot_error', err.message));
    });
    req.end(body);
  });
}

/** NB-IoT frames as confirmable CoAP POSTs to the edge; acknowledged by a 2.xx answer. */
export function createNbiotPlayer(deps: PlayerDeps): FramePlayer<FrameOf<'nbiot'>> {
  return {
    async play(f, bytes, ctx) {
      const ep = ctx.sent();
      if (ep.nbiot === undefined)
        throw new FrameError('no_endpoint', `station ${ctx.station} has no nbiot port`);
      const code = await coapPost(ep.host, ep.nbiot, f.meta.imei, bytes, deps.timeoutMs);
      if (!code.startsWith('2.')) throw new FrameError(`coap_${code}`, `CoAP ${code}`);
      deps.acked(f);
    },
  };
}
