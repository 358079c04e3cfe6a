/**
 * A small, bounded SIP message parser and response builder (RFC 3261 §7, §18.3, §20), enough
 * for a GB/T 28181 alarm intake over UDP. Limits are enforced before work is done: datagram
 * size, header count, line length, Content-Length against the datagram.
 */
export const SIP_LIMITS = {
  /** Largest datagram, bytes (alarm and keepalive MESSAGEs are well under 2 KiB). */
  maxMessageBytes: 16 * 1024,
  maxHeaders: 64,
  /** Longest header line (after unfolding), characters. */
  maxLineChars: 2048,
} as const;

export type SipErrorCode =
  | 'too_large'
  | 'bad_start_line'
  | 'too_many_headers'
  | 'line_too_long'
  | 'bad_header'
  | 'bad_content_length'
  | 'missing_header';

export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  constructor(
    readonly code: SipErrorCode,
    message: string,
    /** Headers read so far, so a 400 can still be addressed (RFC 3261 §8.2.6). */
    readonly headers?: SipHeaders,
  ) {
    super(`SIP: ${message}`);
  }
}

/** Lower-case long header names → values in order of appearance. */
export type SipHeaders = Map<string, string[]>;

export type SipMessage =
  | { kind: 'request'; method: string; uri: string; headers: SipHeaders; body: Buffer }
  | { kind: 'response'; status: number; reason: string; headers: SipHeaders; body: Buffer };

/** RFC 3261 §7.3.3 compact forms. */
const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  l: 'content-length',
  c: 'content-type',
  m: 'contact',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
};

const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'];

export function header(h: SipHeaders, name: string): string | undefined {
  return h.get(name)?.[0];
}

export function parseSip(buf: Buffer): SipMessage {
  if (buf.length > SIP_LIMITS.maxMessageBytes)
    throw new SipParseError('too_large', `datagram of ${buf.length} bytes > ${SIP_LIMITS.maxMessageBytes}`);
  const split = buf.indexOf('\r\n\r\n');
  if (split < 0) throw new SipParseError('bad_start_line', 'no blank line after the headers');
  const lines = buf.subarray(0, split).toString('utf8').split('\r\n');
  const start = lines.shift()!;
  const headers: SipHeaders = new Map();
  const unfolded: string[] = [];
  for (const line of lines) {
    if (line.length > SIP_LIMITS.maxLineChars)
      throw new SipParseError('line_too_long', `header line longer than ${SIP_LIMITS.maxLineChars}`);
    if (/^[ \t]/.test(line) && unfolded.length > 0) {
      unfolded[unfolded.length - 1] += ` ${line.trim()}`;
      if (unfolded[unfolded.length - 1]!.length > SIP_LIMITS.maxLineChars)
        throw new SipParseError('line_too_long', 'folded header too long');
    } else {
      unfolded.push(line);
    }
    if (unfolded.length > SIP_LIMITS.maxHeaders)
      throw new SipParseError('too_many_headers', `more than ${SIP_LIMITS.maxHeaders} headers`);
  }
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new SipParseError('bad_header', `not a header: ${JSON.stringify(line.slice(0, 60))}`, headers);
    let name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9!%*_+`'~.-]+$/.test(name))
      throw new SipParseError('bad_header', `bad header name ${JSON.stringify(name.slice(0, 40))}`, headers);
    name = COMPACT[name] ?? name;
    const value = line.slice(colon + 1).trim();
    // Via may carry several comma-separated hops in one line (§7.3.1); keep them as separate values.
    const values = name === 'via' ? value.split(/,(?=\s*SIP\/)/i).map((v) => v.trim()) : [value];
    const list = headers.get(name);
    if (list) list.push(...values);
    else headers.set(name, values);
  }
  const raw = buf.subarray(split + 4);
  const cl = header(headers, 'content-length');
  let body = raw;
  if (cl !== undefined) {
    if (!/^\d{1,6}$/.test(cl))
      throw new SipParseError('bad_content_length', `Content-Length ${JSON.stringify(cl)}`, headers);
    const n = Number(cl);
    // §18.3: a datagram shorter than Content-Length is an error; extra bytes are discarded.
    if (n > raw.length)
      throw new SipParseError(
        'bad_content_length',
        `Content-Length ${n} > ${raw.length} bytes received`,
        headers,
      );
    body = raw.subarray(0, n);
  }
  const resp = /^SIP\/2\.0 ([1-6]\d\d) (.{0,128})$/.exec(start);
  if (resp) return { kind: 'response', status: Number(resp[1]), reason: resp[2]!, headers, body };
  const req = /^([A-Z]{2,16}) (sips?:[^\s]{1,512}) SIP\/2\.0$/.exec(start);
  if (!req)
    throw new SipParseError(
      'bad_start_line',
      `bad start line ${JSON.stringify(start.slice(0, 80))}`,
      headers,
    );
  for (const h of REQUIRED) {
    if (!headers.has(h)) throw new SipParseError('missing_header', `missing ${h}`, headers);
  }
  const cseq = /^(\d{1,10}) ([A-Z]{2,16})$/.exec(header(headers, 'cseq')!);
  if (!cseq || cseq[2] !== req[1])
    throw new SipParseError(
      'bad_header',
      `CSeq ${JSON.stringify(header(headers, 'cseq'))} does not match ${req[1]}`,
      headers,
    );
  return { kind: 'request', method: req[1]!, uri: req[2]!, headers, body };
}

/** True when `headers` has what a response needs (§8.2.6): Via, From, To, Call-ID, CSeq. */
export function canRespond(headers: SipHeaders | undefined): headers is SipHeaders {
  return headers !== undefined && REQUIRED.every((h) => headers.has(h));
}

/** Builds a response to a request: copies Via (all), From, To (adding our tag), Call-ID, CSeq. */
export function buildResponse(
  req: SipHeaders,
  status: number,
  reason: string,
  extra: [string, string][] = [],
  toTag = 'edge',
): Buffer {
  let to = header(req, 'to')!;
  if (status > 100 && !/;\s*tag=/i.test(to)) to += `;tag=${toTag}`;
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of req.get('via')!) lines.push(`Via: ${v}`);
  lines.push(
    `From: ${header(req, 'from')}`,
    `To: ${to}`,
    `Call-ID: ${header(req, 'call-id')}`,
    `CSeq: ${header(req, 'cseq')}`,
  );
  for (const [k, v] of extra) lines.push(`${k}: ${v}`);
  lines.push('User-Agent: village-edge', 'Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'));
}

/** Builds a request outside a dialog (RFC 3261 §8.1.1): what the server sends a device, e.g. a MANSCDP Response. */
export function buildRequest(r: {
  method: string;
  uri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  contentType?: string;
  body?: Buffer;
}): Buffer {
  const body = r.body ?? Buffer.alloc(0);
  const lines = [
    `${r.method} ${r.uri} SIP/2.0`,
    `Via: ${r.via}`,
    `From: ${r.from}`,
    `To: ${r.to}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    'Max-Forwards: 70',
    'User-Agent: village-edge',
  ];
  if (r.contentType) lines.push(`Content-Type: ${r.contentType}`);
  lines.push(`Content-Length: ${body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n')), body]);
}

/** The user part of a SIP URI in a From/To header value: `<sip:3402...@3402000000>;tag=x` → `3402...`. */
export function uriUser(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /sips?:([^@;>\s]{1,64})@/.exec(value)?.[1];
}
