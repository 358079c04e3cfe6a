import { randomBytes } from 'node:crypto';
import { type RemoteInfo, createSocket } from 'node:dgram';
import type { CameraMessage } from './camera-event-types.js';
import { createDigestVerifier } from './digest-auth.js';
import { ManscdpError, alarmToMessage, decodeManscdpBody, parseManscdp } from './gb28181-manscdp.js';
import {
  type SipHeaders,
  SipParseError,
  buildResponse,
  canRespond,
  header,
  parseSip,
  uriUser,
} from './sip-message.js';

/**
 * GB/T 28181 alarm intake over SIP/UDP. A device REGISTERs with digest authentication
 * (§9.1.2.1: 401 challenge, then 200 with Date for time sync), keeps alive with MESSAGE
 * CmdType=Keepalive, and reports alarms with MESSAGE CmdType=Alarm; each MESSAGE is answered
 * 200 only after the event is durably stored. MESSAGEs from unregistered devices get 403.
 */
export interface GbServerDeps {
  port: number;
  bind: string;
  realm: string;
  maxExpiresS: number;
  passwordFor(deviceId: string): string | undefined;
  cameraFor(deviceId: string): string | undefined;
  seen(cameraId: string): void;
  deliver(cameraId: string, msg: CameraMessage): Promise<void>;
  countError(reason: string): void;
  warn(obj: object, msg: string): void;
  now(): number;
}

export async function startGbServer(deps: GbServerDeps): Promise<{ port: number; close(): Promise<void> }> {
  const sock = createSocket('udp4');
  const digest = createDigestVerifier({ realm: deps.realm, requireQop: false, now: deps.now });
  const registered = new Map<string, number>();
  const tag = randomBytes(4).toString('hex');

  // Non-INVITE server transactions (RFC 3261 §17.2.2): a retransmitted request gets the same
  // answer again, and one still being processed (waiting on storage) is not processed twice.
  const transactions = new Map<string, Buffer | 'pending'>();
  const MAX_TRANSACTIONS = 2048;
  const txKey = (h: SipHeaders) =>
    `${/branch=([^;\s]+)/i.exec(header(h, 'via') ?? '')?.[1]}|${header(h, 'call-id')}|${header(h, 'cseq')}`;
  const send = (to: RemoteInfo, buf: Buffer) => sock.send(buf, to.port, to.address);
  const reply = (
    to: RemoteInfo,
    h: SipHeaders,
    status: number,
    reason: string,
    extra: [string, string][] = [],
  ) => {
    const buf = buildResponse(h, status, reason, extra, tag);
    const key = txKey(h);
    transactions.delete(key);
    transactions.set(key, buf);
    if (transactions.size > MAX_TRANSACTIONS) transactions.delete(transactions.keys().next().value!);
    send(to, buf);
  };
  const refuse = (
    to: RemoteInfo,
    h: SipHeaders,
    status: number,
    reason: string,
    counter: string,
    detail: string,
    extra: [string, string][] = [],
  ) => {
    deps.countError(`camera_sip_${counter}`);
    deps.warn(
      { from: `${to.address}:${to.port}`, status, reason: counter, detail },
      'camera: SIP request refused',
    );
    reply(to, h, status, reason, extra);
  };

  async function onDatagram(buf: Buffer, from: RemoteInfo) {
    let msg: ReturnType<typeof parseSip>;
    try {
      msg = parseSip(buf);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      if (canRespond(err.headers))
        refuse(from, err.headers, 400, 'Bad Request', `parse_${err.code}`, err.message);
      else {
        // Nothing to address a response to (§8.2.6 needs Via, From, To, Call-ID, CSeq): drop.
        deps.countError(`camera_sip_parse_${err.code}`);
        deps.warn(
          { from: `${from.address}:${from.port}`, detail: err.message },
          'camera: unparseable SIP datagram dropped',
        );
      }
      return;
    }
    if (msg.kind === 'response') return; // we send no requests, so nothing is waiting for one
    const h = msg.headers;
    if (msg.method === 'ACK') return;
    const seen = transactions.get(txKey(h));
    if (seen === 'pending') return;
    if (seen) {
      send(from, seen);
      return;
    }
    transactions.set(txKey(h), 'pending');
    if (msg.method === 'REGISTER') {
      const device = uriUser(header(h, 'to'));
      const auth = header(h, 'authorization');
      // SIP UAs disagree on the digest-uri (SIPp puts the server's address, devices the
      // Request-URI); it is covered by the response hash either way, so it is not compared.
      const r = digest.verify(auth, 'REGISTER', undefined, (user) =>
        user === device && device ? deps.passwordFor(device) : undefined,
      );
      if (!r.ok) {
        const challenge: [string, string][] = [
          ['WWW-Authenticate', digest.challenge('MD5', r.reason === 'stale')],
        ];
        if (r.reason === 'missing') reply(from, h, 401, 'Unauthorized', challenge);
        else
          refuse(
            from,
            h,
            401,
            'Unauthorized',
            `auth_${r.reason}`,
            `REGISTER for ${device}: ${r.reason}`,
            challenge,
          );
        return;
      }
      const asked = Number(
        header(h, 'expires') ?? /expires=(\d+)/i.exec(header(h, 'contact') ?? '')?.[1] ?? deps.maxExpiresS,
      );
      const expires = Number.isFinite(asked)
        ? Math.min(Math.max(0, asked), deps.maxExpiresS)
        : deps.maxExpiresS;
      if (expires === 0) registered.delete(device!);
      else registered.set(device!, deps.now() + expires * 1000);
      const camera = deps.cameraFor(device!);
      if (camera) deps.seen(camera);
      // §9.1.2.1: the 200 carries Date so the device can set its clock (local time, ms precision).
      const date = new Date(deps.now()).toISOString().slice(0, 23);
      reply(from, h, 200, 'OK', [
        ['Expires', String(expires)],
        ['Date', date],
      ]);
      return;
    }
    if (msg.method === 'MESSAGE') {
      const device = uriUser(header(h, 'from'));
      const until = device ? registered.get(device) : undefined;
      const camera = device ? deps.cameraFor(device) : undefined;
      if (!device || !camera || until === undefined || until < deps.now()) {
        refuse(from, h, 403, 'Forbidden', 'not_registered', `MESSAGE from unregistered ${device}`);
        return;
      }
      let doc: ReturnType<typeof parseManscdp>;
      let alarm: CameraMessage | undefined;
      try {
        doc = parseManscdp(decodeManscdpBody(msg.body, header(h, 'content-type')));
        if (doc.deviceId !== device && deps.cameraFor(doc.deviceId) !== camera) {
          throw new ManscdpError(
            'wrong_device',
            `DeviceID ${doc.deviceId} is not the registered device ${device}`,
          );
        }
        if (doc.cmdType === 'Alarm') alarm = alarmToMessage(doc);
      } catch (err) {
        if (!(err instanceof ManscdpError)) throw err;
        refuse(from, h, 400, 'Bad Request', 'bad_body', err.message);
        return;
      }
      deps.seen(camera);
      if (alarm) await deps.deliver(camera, alarm);
      reply(from, h, 200, 'OK');
      return;
    }
    refuse(from, h, 405, 'Method Not Allowed', 'bad_method', msg.method, [
      ['Allow', 'REGISTER, MESSAGE, ACK'],
    ]);
  }

  sock.on('message', (buf, from) => {
    onDatagram(buf, from).catch((err: Error) => {
      // forget the pending transaction so the retransmission is processed afresh
      for (const [k, v] of transactions) if (v === 'pending') transactions.delete(k);
      // Storage failed: no answer, so the device retransmits (RFC 3261 §17.1.2 timer E).
      deps.countError('camera_sip_internal');
      deps.warn({ err: err.message }, 'camera: SIP handler failed');
    });
  });
  sock.on('error', (err) => {
    deps.countError('camera_sip_socket');
    deps.warn({ err: err.message }, 'camera: SIP socket error');
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(deps.port, deps.bind, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return {
    port: sock.address().port,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
