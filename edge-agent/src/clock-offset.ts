import type { DeviceEvent } from '@village/protocol';

export interface ClockOffsetOptions {
  edgeId: string;
  /** |offset| above this, seconds, raises a `clock_offset` event (once, until it is back within). */
  thresholdS: number;
  /** Stores the event (the outbox's event lane). */
  report(event: DeviceEvent): void;
  /** Sets the gauge. */
  onOffset(offsetS: number): void;
}

export interface ClockOffsetMonitor {
  /**
   * One ack: sent at `sentAt`, its ack read at `ackAt` (both edge clock, ms), stamped `cloudTime`
   * by the cloud (ms). Returns the offset measured, seconds: positive when the cloud is ahead.
   */
  observe(sentAt: number, ackAt: number, cloudTime: number): number;
  /** The latest offset, seconds; undefined before the first ack with the cloud's time. */
  readonly offsetS: number | undefined;
}

/**
 * The edge's clock offset from the cloud, NTP-style from one round trip: the cloud stamped the ack
 * somewhere between send and receipt, so offset ≈ cloudTime − (sentAt + ackAt) / 2, wrong by at
 * most half the round trip (plus the cloud's commit time), which is far below any threshold that
 * matters for readings stamped at the edge. Readings keep their edge timestamps: this only tells.
 */
export function createClockOffsetMonitor(o: ClockOffsetOptions): ClockOffsetMonitor {
  let offsetS: number | undefined;
  let raised = false;
  return {
    get offsetS() {
      return offsetS;
    },
    observe(sentAt, ackAt, cloudTime) {
      const offset = (cloudTime - (sentAt + ackAt) / 2) / 1000;
      offsetS = offset;
      o.onOffset(offset);
      const beyond = Math.abs(offset) > o.thresholdS;
      if (beyond && !raised) {
        o.report({
          device: o.edgeId,
          type: 'clock_offset',
          severity: 'warning',
          ts: ackAt,
          data: {
            offsetS: Math.round(offset * 1000) / 1000,
            thresholdS: o.thresholdS,
            rttMs: ackAt - sentAt,
          },
        });
      }
      raised = beyond;
      return offset;
    },
  };
}
