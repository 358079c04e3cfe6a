import { createHmac } from 'node:crypto';
import { encode } from 'cbor-x';

/**
 * The NB-IoT uplink envelope of docs/nbiot-device-guide.md, built without sending it so a plan
 * can be recorded: CBOR {c: counter, p: payload, m: HMAC-SHA256(key, "imei|c|||" ‖ p)[0..8]}.
 * Scenario devices confirm no commands, so `a` and `x` stay empty.
 */
export function nbiotEnvelope(imei: string, keyHex: string, counter: number, payload: Uint8Array): Buffer {
  const m = createHmac('sha256', Buffer.from(keyHex, 'hex'))
    .update(`${imei}|${counter}|||`)
    .update(payload)
    .digest()
    .subarray(0, 8);
  return Buffer.from(encode({ c: counter, p: Buffer.from(payload), m }));
}
