import { createHash, randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';

/**
 * A simulated GB/T 28181 device over SIP/UDP: REGISTER answered with digest credentials after the
 * 401 challenge (RFC 3261 §22, qop=auth when offered), Keepalive and Alarm MESSAGEs with
 * MANSCDP XML bodies. Requests are retransmitted every 500 ms (timer E) until answered or
 * until `timeoutMs`.
 */
export interface Gb28181DeviceOptions {
  host: string;
  port: number;
  /** 20-digit device id. */
  deviceId: string;
  /** 20-digit SIP server id and its domain (realm). */
  serverId: string;
  domain: string;
  password: string;
  /** Give up on a request after this long, ms. */
  timeoutMs?: number;
}

export interface Gb28181Alarm {
  /** 1 (highest) .. 4 */
  priority: 1 | 2 | 3 | 4;
  /** 1 phone, 2 device, 3 SMS, 4 GPS, 5 video, 6 device fault, 7 other */
  method: number;
  /** For method 5: 2 motion, 5 tripwire, 6 intrusion, 8 loitering, 10 density ... */
  type?: number;
  description?: string;
  time?: Date;
}

export class SipTimeoutError extends Error {
  override readonly name = 'SipTimeoutError';
}

export function createGb28181Device(opts: Gb28181DeviceOptions) {
  let sock: Socket | undefined;
  let cseq = 0;
  let sn = 0;
  const callId = `${randomBytes(8).toString('hex')}@sim`;
  const tag = randomBytes(4).toString('hex');
  const waiting = new Map<string, (status: number, text: string) => void>();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const uri = `sip:${opts.serverId}@${opts.domain}`;

  const open = async () => {
    if (sock) return sock;
    const s = createSocket('udp4');
    s.on('message', (m, from) => {
      const text = m.toString();
      if (/^[A-Z]+ sips?:/.test(text)) {
        // The server's own requests (the alarm Response MESSAGE, GB/T 28181 §9.4.2): answer 200.
        const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].flatMap((h) =>
          [...text.matchAll(new RegExp(`\r\n(${h}: [^\r]+)`, 'gi'))].map((x) => x[1]!),
        );
        const ok = ['SIP/2.0 200 OK', ...copy, 'Content-Length: 0', '', ''].join('\r\n');
        s.send(Buffer.from(ok), from.port, from.address);
        return;
      }
      const status = /^SIP\/2\.0 (\d{3})/.exec(text)?.[1];
      const branch = /branch=([^;\s]+)/.exec(text)?.[1];
      const done = branch ? waiting.get(branch) : undefined;
      if (status && done) {
        waiting.delete(branch!);
        done(Number(status), text);
      }
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    sock = s;
    return s;
  };

  const request = async (method: string, headers: string[], body = '') => {
    const s = await open();
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const { port } = s.address();
    const to = method === 'REGISTER' ? opts.deviceId : opts.serverId;
    const msg = Buffer.from(
      [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=${branch}`,
        `From: <sip:${opts.deviceId}@${opts.domain}>;tag=${tag}`,
        `To: <sip:${to}@${opts.domain}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${++cseq} ${method}`,
        'Max-Forwards: 70',
        'User-Agent: village-sim gb28181',
        ...headers,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const resend = setInterval(() => s.send(msg, opts.port, opts.host), 500);
      const timer = setTimeout(() => {
        clearInterval(resend);
        waiting.delete(branch);
        reject(
          new SipTimeoutError(`${method}: no answer from ${opts.host}:${opts.port} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      waiting.set(branch, (status, text) => {
        clearInterval(resend);
        clearTimeout(timer);
        resolve({ status, text });
      });
      s.send(msg, opts.port, opts.host);
    });
  };

  const message = (cmdType: string, inner: string) =>
    request(
      'MESSAGE',
      ['Content-Type: Application/MANSCDP+xml'],
      `<?xml version="1.0" encoding="UTF-8"?>\r\n<Notify><CmdType>${cmdType}</CmdType><SN>${++sn}</SN><DeviceID>${opts.deviceId}</DeviceID>${inner}</Notify>`,
    );

  return {
    /** REGISTER, answer the digest challenge; resolves with the final status (200 when accepted). */
    async register(expires = 3600): Promise<number> {
      const first = await request('REGISTER', [
        `Contact: <sip:${opts.deviceId}@127.0.0.1>`,
        `Expires: ${expires}`,
      ]);
      if (first.status !== 401) return first.status;
      const ch = /WWW-Authenticate:\s*Digest (.*)/i.exec(first.text)?.[1] ?? '';
      const p = (n: string) => new RegExp(`${n}="?([^",\\r]+)"?`, 'i').exec(ch)?.[1];
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const realm = p('realm')!;
      const nonce = p('nonce')!;
      const ha1 = md5(`${opts.deviceId}:${realm}:${opts.password}`);
      const ha2 = md5(`REGISTER:${uri}`);
      const qop = p('qop') ? 'auth' : undefined;
      const cnonce = randomBytes(6).toString('hex');
      const response = qop
        ? md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`)
        : md5(`${ha1}:${nonce}:${ha2}`);
      const auth =
        `Authorization: Digest username="${opts.deviceId}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
        `response="${response}", algorithm=MD5${qop ? `, qop=auth, nc=00000001, cnonce="${cnonce}"` : ''}`;
      const second = await request('REGISTER', [
        `Contact: <sip:${opts.deviceId}@127.0.0.1>`,
        `Expires: ${expires}`,
        auth,
      ]);
      return second.status;
    },
    async keepalive(): Promise<number> {
      return (await message('Keepalive', '<Status>OK</Status>')).status;
    },
    async alarm(a: Gb28181Alarm): Promise<number> {
      const time = (a.time ?? new Date()).toISOString().slice(0, 19);
      const inner =
        `<AlarmPriority>${a.priority}</AlarmPriority><AlarmMethod>${a.method}</AlarmMethod><AlarmTime>${time}</AlarmTime>` +
        (a.description ? `<AlarmDescription>${a.description.replace(/[<&>]/g, '')}</AlarmDescription>` : '') +
        (a.type !== undefined ? `<Info><AlarmType>${a.type}</AlarmType></Info>` : '');
      return (await message('Alarm', inner)).status;
    },
    close() {
      sock?.close();
      sock = undefined;
    },
  };
}
