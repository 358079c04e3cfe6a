import { performance } from 'node:perf_hooks';
import type { Reception } from './dedup.js';
import { sendPullResp } from './gateway-link.js';
import { type LorawanRuntime, fail } from './runtime.js';
import { planDownlink } from './rx-window.js';

/**
 * The downlink scheduler: picks the gateway (highest SNR among those with an open PULL_DATA
 * route), the class A receive window still reachable, and hands the PULL_RESP to the gateway
 * link. `build` is called only once a window is certain, so a frame counter is spent only on a
 * frame that goes out. Returns whether a downlink was sent.
 */
export function scheduleDownlink(
  rt: LorawanRuntime,
  receptions: Reception[],
  kind: 'data' | 'join',
  deviceId: string,
  build: () => Buffer,
): boolean {
  const best = [...receptions]
    .sort((a, b) => b.snr - a.snr)
    .find((r) => rt.registry.get(r.gatewayEui)?.pullAddress !== undefined);
  if (best === undefined) {
    fail(rt, 'downlink_no_gateway', `lorawan: no gateway with an open PULL_DATA route heard ${deviceId}`, {
      deviceId,
    });
    return false;
  }
  const elapsed = performance.now() - Math.min(...receptions.map((r) => r.heardAt));
  const plan = planDownlink(rt.region, best, kind, elapsed, rt.config.downlinkLeadMs);
  if (plan === undefined) {
    fail(
      rt,
      'downlink_too_late',
      `lorawan: receive windows for ${deviceId} passed (${Math.round(elapsed)} ms)`,
      {
        deviceId,
      },
    );
    return false;
  }
  const phy = build();
  sendPullResp(rt, best.gatewayEui, deviceId, {
    ...plan.txpk,
    size: phy.length,
    data: phy.toString('base64'),
  });
  rt.counters.downlinksSent++;
  rt.ctx.log.debug(
    { deviceId, gateway: best.gatewayEui, window: plan.window, kind },
    'lorawan: downlink scheduled',
  );
  return true;
}
