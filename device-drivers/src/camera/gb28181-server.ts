import { randomBytes } from 'node:crypto';
import { type RemoteInfo, createSocket } from 'node:dgram';
import type { CameraMessage } from './camera-event-types.js';
import { createDigestVerifier } from './digest-auth.js';
import {
  ManscdpError,
  alarmResponseBody,
  alarmToMessage,
  decodeManscdpBody,
  parseManscdp,
} from './gb28181-manscdp.js';
import {
  type SipHeaders,
  SipParseError,
  buildRequest,
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
 * 200 only after the event is durably stored, and an Alarm is then confirmed with a Response
 * MESSAGE to the device (§9.4.2 c, A.2.6).
 *
 * Trust (docs/security.md):
 * - digest with qop=auth, nonce-count, and single-use nonces: a recorded REGISTER replayed from
 *   anywhere is challenged again (401), never registered;
 * - a registration is bound to the UDP source (address and port) its REGISTER came from; a
 *   MESSAGE naming a registered device from any other source gets 403;
 * - an Alarm's DeviceID must be the registered device or one of its configured channel ids
 *   (`gbChannels`): alarms of a DVR/NVR name the channel (alarm input or camera) that raised them.
 */
export interface GbServerDeps {
  port: number;
  bind: string;
  realm: string;
  /** This server's 20-digit SIP id (From of the requests it sends). */
  serverId: string;
  maxExpiresS: number;
  passwordFor(deviceId: string): string | undefined;
  cameraFor(deviceId: string): string | undefined;
  /** The channel ids (GB/T 28181 §4.4 codes) whose alarms a camera's device may report. */
  channelsOf(cameraId: string): ReadonlySet<string>;
  seen(cameraId: string): void;
  deliver(cameraId: string, msg: CameraMessage): Promise<void>;
  countError(reason: string): void;
  warn(obj: object, msg: string): void;
  now(): number;
}

export async function startGbServer(deps: GbServerDeps): Promise<{ port: number; close(): Promise<void> }> {
  const sock = createSocket('udp4');
  const digest = createDigestVerifier({
    realm: deps.realm,
    requireQop: true,
    singleUseNonces: true,
    now: deps.now,
  });
  /** Device id → when its registration ends and the UDP source its REGISTER came from. */
  const registered = new Map<string, { until: number; address: string; port: number }>();
  const tag = randomBytes(4).toString('hex');
  const fromOf = (r: { address: string; port: number }) => `${r.address}:${r.port}`;

  // Client transactions for the requests we send (RFC 3261 §17.1.2, non-INVITE over UDP):
  // retransmit at T1, 2·T1, ... capped at T2, until a final response or 64·T1.
  const T1 = 500;
  const T2 = 4000;
  const outgoing = new Map<string, { timer: NodeJS.Timeout; what: string }>();
  /** Requests awaiting an answer; beyond this the oldest is given up (a device flooding alarms). */
  const MAX_OUTGOING = 1024;
  let cseq = 1;
  const sendRequest = async (
    to: { address: string; port: number },
    deviceId: string,
    what: string,
    body: Buffer,
  ) => {
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    const local = sock.address();
    const host = await localAddressTowards(local.address, to);
    const buf = buildRequest({
      method: 'MESSAGE',
      uri: `sip:${deviceId}@${to.address}:${to.port}`,
      via: `SIP/2.0/UDP ${host}:${local.port};rport;branch=${branch}`,
      from: `<sip:${deps.serverId}@${deps.realm}>;tag=${tag}`,
      to: `<sip:${deviceId}@${deps.realm}>`,
      callId: `${randomBytes(10).toString('hex')}@${deps.realm}`,
      cseq: cseq++,
      contentType: 'Application/MANSCDP+xml',
      body,
    });
    const started = Date.now();
    let interval = T1;
    const attempt = () => {
      if (Date.now() - started >= 64 * T1) {
        outgoing.delete(branch);
        deps.countError('camera_sip_request_unanswered');
        deps.warn({ to: fromOf(to), what }, 'camera: device did not answer our SIP request');
        return;
      }
      sock.send(buf, to.port, to.address);
      const timer = setTimeout(attempt, interval);
      timer.unref();
      outgoing.set(branch, { timer, what });
      if (outgoing.size > MAX_OUTGOING) {
        const [oldest, tx] = outgoing.entries().next().value!;
        clearTimeout(tx.timer);
        outgoing.delete(oldest);
        deps.countError('camera_sip_request_unanswered');
      }
      interval = Math.min(interval * 2, T2);
    };
    attempt();
  };
  const onResponse = (h: SipHeaders, status: number, from: RemoteInfo) => {
    const branch = /branch=([^;\s]+)/i.exec(header(h, 'via') ?? '')?.[1];
    const tx = branch ? outgoing.get(branch) : undefined;
    if (!tx || status < 200) return;
    clearTimeout(tx.timer);
    outgoing.delete(branch!);
    if (status >= 300) {
      deps.countError('camera_sip_request_refused');
      deps.warn({ from: fromOf(from), status, what: tx.what }, 'camera: device refused our SIP request');
    }
  };

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
    if (msg.kind === 'response') {
      onResponse(msg.headers, msg.status, from);
      return;
    }
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
        // A used-up nonce (replay) is answered like an expired one: a fresh challenge, stale=true,
        // which a device that merely refreshes its registration with its last nonce follows.
        const challenge: [string, string][] = [
          ['WWW-Authenticate', digest.challenge('MD5', r.reason === 'stale' || r.reason === 'replay')],
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
      else
        registered.set(device!, {
          until: deps.now() + expires * 1000,
          address: from.address,
          port: from.port,
        });
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
      const reg = device ? registered.get(device) : undefined;
      const camera = device ? deps.cameraFor(device) : undefined;
      if (!device || !camera || reg === undefined || reg.until < deps.now()) {
        refuse(from, h, 403, 'Forbidden', 'not_registered', `MESSAGE from unregistered ${device}`);
        return;
      }
      // From is only a claim; the source the REGISTER proved itself from is the binding.
      if (reg.address !== from.address || reg.port !== from.port) {
        refuse(
          from,
          h,
          403,
          'Forbidden',
          'wrong_source',
          `MESSAGE for ${device} from ${fromOf(from)}, registered at ${fromOf(reg)}`,
        );
        return;
      }
      let doc: ReturnType<typeof parseManscdp>;
      let alarm: CameraMessage | undefined;
      try {
        doc = parseManscdp(decodeManscdpBody(msg.body, header(h, 'content-type')));
        if (doc.deviceId !== device && !deps.channelsOf(camera).has(doc.deviceId)) {
          throw new ManscdpError(
            'wrong_device',
            `DeviceID ${doc.deviceId} is neither the registered device ${device} nor one of its channels`,
          );
        }
        if (doc.cmdType === 'Alarm') alarm = alarmToMessage(doc);
      } catch (err) {
        if (!(err instanceof ManscdpError)) throw err;
        if (err.code === 'wrong_device') refuse(from, h, 403, 'Forbidden', 'wrong_device', err.message);
        else refuse(from, h, 400, 'Bad Request', 'bad_body', err.message);
        return;
      }
      deps.seen(camera);
      if (alarm?.kind === 'alarm') {
        if (doc.deviceId !== device) alarm.data.gb_channel = doc.deviceId;
        await deps.deliver(camera, alarm);
      }
      reply(from, h, 200, 'OK');
      if (alarm && doc.sn !== undefined && /^\d{1,10}$/.test(doc.sn)) {
        await sendRequest(reg, device, 'alarm response', alarmResponseBody(doc.sn, doc.deviceId));
      }
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const tx of outgoing.values()) clearTimeout(tx.timer);
        outgoing.clear();
        sock.close(() => resolve());
      }),
  };
}

/**
 * The address to name in our Via: the bound one, or, when bound to all interfaces, the local
 * address the kernel routes `to` from (a connected UDP socket sends nothing). A device that
 * answers to Via's sent-by (RFC 3261 §18.2.2) then reaches us.
 */
async function localAddressTowards(bound: string, to: { address: string; port: number }): Promise<string> {
  if (bound !== '0.0.0.0') return bound;
  const probe = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.connect(to.port, to.address, () => resolve());
    });
    return probe.address().address;
  } catch {
    return bound;
  } finally {
    probe.close();
  }
}
