import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDigestVerifier } from '../src/camera/digest-auth.js';
import { SIP_LIMITS, SipParseError, buildResponse, parseSip } from '../src/camera/sip-message.js';

const msg = (lines: string[], body = '') => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
const base = [
  'MESSAGE sip:34020000002000000001@3402000000 SIP/2.0',
  'v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0',
  'f: <sip:34020000001320000001@3402000000>;tag=a',
  't: <sip:34020000002000000001@3402000000>',
  'i: call-1',
  'CSeq: 20 MESSAGE',
];

function parseError(buf: Buffer): SipParseError {
  try {
    parseSip(buf);
  } catch (err) {
    return err as SipParseError;
  }
  throw new Error('expected a parse error');
}

describe('bounded SIP parser', () => {
  it('expands compact headers, splits multi-hop Via, unfolds continuation lines, trims the body to Content-Length', () => {
    const m = parseSip(msg([...base, 'Subject: a', ' folded', 'l: 5'], 'hello-extra'));
    expect(m.kind).toBe('request');
    expect(m.headers.get('via')).toHaveLength(2);
    expect(m.headers.get('subject')).toEqual(['a folded']);
    expect(m.body.toString()).toBe('hello');
    const reply = buildResponse(m.headers, 200, 'OK').toString();
    expect(reply).toMatch(
      /^SIP\/2\.0 200 OK\r\nVia: SIP\/2\.0\/UDP 10\.0\.0\.2:5060;branch=z9hG4bK1\r\nVia: SIP\/2\.0\/UDP 10\.0\.0\.1/,
    );
    expect(reply).toMatch(/\r\nTo: <sip:34020000002000000001@3402000000>;tag=edge\r\n/);
    expect(reply).toMatch(/Content-Length: 0\r\n\r\n$/);
  });

  it('refuses what breaks the limits or the grammar, with a code and (where possible) the headers to answer', () => {
    expect(parseError(Buffer.alloc(SIP_LIMITS.maxMessageBytes + 1, 0x41)).code).toBe('too_large');
    expect(
      parseError(msg([...base, ...Array.from({ length: SIP_LIMITS.maxHeaders }, (_, i) => `X-${i}: v`)]))
        .code,
    ).toBe('too_many_headers');
    expect(parseError(msg([...base, `X-Long: ${'a'.repeat(SIP_LIMITS.maxLineChars)}`])).code).toBe(
      'line_too_long',
    );
    expect(parseError(Buffer.from('no blank line')).code).toBe('bad_start_line');
    const cl = parseError(msg([...base, 'Content-Length: 50'], 'short'));
    expect(cl.code).toBe('bad_content_length');
    expect(cl.headers?.get('call-id')).toEqual(['call-1']);
    expect(parseError(msg([...base.slice(0, 5), 'CSeq: 20 INVITE'])).code).toBe('bad_header');
    expect(parseError(msg(base.filter((l) => !l.startsWith('i:')))).code).toBe('missing_header');
    expect(parseError(msg(['HELLO', ...base.slice(1)])).code).toBe('bad_start_line');
    expect(parseError(msg([...base, 'no colon here'])).code).toBe('bad_header');
  });

  it('never throws anything but SipParseError on random bytes', () => {
    let seed = 7;
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const len = seed % 300;
      const bytes = Buffer.alloc(len);
      for (let j = 0; j < len; j++) bytes[j] = (seed >> (j % 23)) & 0xff;
      const mix = Buffer.concat([msg(base).subarray(0, seed % 200), bytes]);
      try {
        parseSip(mix);
      } catch (err) {
        expect(err).toBeInstanceOf(SipParseError);
      }
    }
  });
});

describe('digest verifier', () => {
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  function answer(challenge: string, nc: string, password = 'pw') {
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const ha1 = md5(`dev:r:${password}`);
    const response = md5(`${ha1}:${nonce}:${nc}:cn:auth:${md5('REGISTER:sip:x@r')}`);
    return `Digest username="dev", realm="r", nonce="${nonce}", uri="sip:x@r", qop=auth, nc=${nc}, cnonce="cn", response="${response}"`;
  }

  it('accepts a right answer once per nonce-count, refuses replays, wrong passwords and stale nonces', () => {
    let now = 1_800_000_000_000;
    const v = createDigestVerifier({ realm: 'r', requireQop: true, now: () => now, nonceTtlMs: 1000 });
    const ch = v.challenge('MD5');
    const pw = () => 'pw';
    expect(v.verify(answer(ch, '00000001'), 'REGISTER', 'sip:x@r', pw)).toEqual({
      ok: true,
      username: 'dev',
    });
    expect(v.verify(answer(ch, '00000001'), 'REGISTER', 'sip:x@r', pw)).toEqual({
      ok: false,
      reason: 'replay',
    });
    expect(v.verify(answer(ch, '00000002'), 'REGISTER', 'sip:x@r', pw).ok).toBe(true);
    expect(v.verify(answer(ch, '00000003', 'bad'), 'REGISTER', 'sip:x@r', pw)).toEqual({
      ok: false,
      reason: 'bad_credentials',
    });
    expect(v.verify(answer(ch, '00000004'), 'REGISTER', 'sip:other@r', pw)).toEqual({
      ok: false,
      reason: 'bad_credentials',
    });
    expect(v.verify('Digest garbage', 'REGISTER', 'sip:x@r', pw)).toEqual({ ok: false, reason: 'malformed' });
    now += 2000;
    expect(v.verify(answer(ch, '00000005'), 'REGISTER', 'sip:x@r', pw)).toEqual({
      ok: false,
      reason: 'stale',
    });
    // a nonce this verifier did not issue
    const forged = answer(ch.replace(/nonce="(\d+)\.[^"]+"/, 'nonce="$1.forged"'), '00000001');
    expect(v.verify(forged, 'REGISTER', 'sip:x@r', pw)).toEqual({ ok: false, reason: 'bad_credentials' });
  });
});
