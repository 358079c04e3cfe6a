import { createHash, randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';

/**
 * A GB/T 28181 device as raw UDP: one socket (as a real device has one SIP port), requests built
 * here, answers matched by CSeq. For what SIPp cannot do in a test: replays from other sockets,
 * hand-made digests, and answering the server's own requests.
 */
export interface GbDevice {
  readonly port: number;
  /** Sends a request and resolves with the final answer to its CSeq (undefined if none in waitMs). */
  send(req: Buffer, waitMs?: number): Promise<string | undefined>;
  /** Sends a datagram and waits for nothing. */
  raw(datagram: Buffer | string): void;
  /** Requests the server sent us, in arrival order (retransmissions included). */
  readonly incoming: string[];
  /** Every response the server sent us, in arrival order. */
  readonly responses: string[];
  /** Answers one of `incoming` with `status`. */
  answer(req: string, status: number, reason: string): void;
  close(): void;
}

export async function openGbDevice(server: () => number, address = '127.0.0.1'): Promise<GbDevice> {
  const sock: Socket = createSocket('udp4');
  const incoming: string[] = [];
  const responses: string[] = [];
  const waiting = new Map<string, (m: string) => void>();
  sock.on('message', (buf) => {
    const m = buf.toString();
    if (!m.startsWith('SIP/2.0 ')) {
      incoming.push(m);
      return;
    }
    responses.push(m);
    const status = Number(m.slice(8, 11));
    const cseq = /\r\nCSeq: ([^\r]+)/i.exec(m)?.[1];
    if (status >= 200 && cseq) waiting.get(cseq)?.(m);
  });
  await new Promise<void>((r) => sock.bind(0, address, r));
  return {
    port: sock.address().port,
    incoming,
    responses,
    raw: (d) => sock.send(typeof d === 'string' ? Buffer.from(d) : d, server(), '127.0.0.1'),
    send(req, waitMs = 10_000) {
      const cseq = /\r\nCSeq: ([^\r]+)/i.exec(req.toString())![1]!;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(cseq);
          resolve(undefined);
        }, waitMs);
        waiting.set(cseq, (m) => {
          clearTimeout(timer);
          waiting.delete(cseq);
          resolve(m);
        });
        sock.send(req, server(), '127.0.0.1');
      });
    },
    answer(req, status, reason) {
      const pick = (name: string) => new RegExp(`\r\n(${name}: [^\r]+)`, 'gi');
      const lines = [`SIP/2.0 ${status} ${reason}`];
      for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq'])
        for (const m of req.matchAll(pick(name))) lines.push(m[1]!);
      lines.push('Content-Length: 0', '', '');
      sock.send(Buffer.from(lines.join('\r\n')), server(), '127.0.0.1');
    },
    close: () => sock.close(),
  };
}

export interface SipTarget {
  serverId: string;
  realm: string;
}

let branchSeq = 0;
/** A request from `from` (device id) to the server, new branch each time. */
export function sipRequest(
  t: SipTarget,
  o: { method: string; cseq: number; from: string; callId?: string; extra?: string[]; body?: Buffer },
): Buffer {
  const body = o.body ?? Buffer.alloc(0);
  const head = [
    `${o.method} sip:${t.serverId}@${t.realm} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bK-${o.method}-${o.cseq}-${++branchSeq}-${randomBytes(3).toString('hex')}`,
    `From: <sip:${o.from}@${t.realm}>;tag=t${o.cseq}`,
    `To: <sip:${o.method === 'REGISTER' ? o.from : t.serverId}@${t.realm}>`,
    `Call-ID: ${o.callId ?? `raw-${o.cseq}-${branchSeq}`}@127.0.0.1`,
    `CSeq: ${o.cseq} ${o.method}`,
    ...(o.extra ?? []),
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), body]);
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** The Authorization value answering `challenge` (a 401), RFC 2617 with qop=auth unless `qop: false`. */
export function digestAnswer(
  t: SipTarget,
  challenge: string,
  o: { user: string; password: string; nc?: number; qop?: boolean; method?: string },
): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const uri = `sip:${t.serverId}@${t.realm}`;
  const ha1 = md5(`${o.user}:${t.realm}:${o.password}`);
  const ha2 = md5(`${o.method ?? 'REGISTER'}:${uri}`);
  const base = `Digest username="${o.user}", realm="${t.realm}", nonce="${nonce}", uri="${uri}", algorithm=MD5`;
  if (o.qop === false) return `${base}, response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = 'c0ffee';
  return `${base}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`;
}

/** REGISTER → 401 → REGISTER with the digest; resolves with the final answer and what was sent. */
export async function register(
  dev: GbDevice,
  t: SipTarget,
  o: { device: string; password: string; cseq: number; qop?: boolean },
): Promise<{ answer: string | undefined; challenge: string; request: Buffer }> {
  const challenge = await dev.send(
    sipRequest(t, { method: 'REGISTER', cseq: o.cseq, from: o.device, extra: ['Expires: 600'] }),
  );
  if (!challenge?.startsWith('SIP/2.0 401')) throw new Error(`expected a 401 challenge, got ${challenge}`);
  const auth = digestAnswer(t, challenge, { user: o.device, password: o.password, qop: o.qop });
  const request = sipRequest(t, {
    method: 'REGISTER',
    cseq: o.cseq + 1,
    from: o.device,
    extra: ['Expires: 600', `Contact: <sip:${o.device}@127.0.0.1:${dev.port}>`, `Authorization: ${auth}`],
  });
  return { answer: await dev.send(request), challenge, request };
}
