import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkEvent } from '@village/protocol';
import {
  type Outcome,
  decodeChecked,
  framesFrom,
  fuzzParams,
  textsFrom,
  typedWithCode,
} from '@village/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDigestVerifier } from '../src/camera/digest-auth.js';
import {
  ManscdpError,
  alarmToMessage,
  decodeManscdpBody,
  parseManscdp,
} from '../src/camera/gb28181-manscdp.js';
import { IsapiError, parseIsapiAlert } from '../src/camera/isapi-alert.js';
import { JsonAlertError, parseJsonAlert } from '../src/camera/json-alert.js';
import { SipParseError, buildResponse, canRespond, parseSip } from '../src/camera/sip-message.js';

/**
 * The camera decoders under random, truncated and mutated input: SIP (GB/T 28181), MANSCDP XML,
 * Hikvision ISAPI XML, the generic JSON event and the digest Authorization header. Each returns
 * or throws its own typed error with a code, quickly.
 */
const fixtures = join(import.meta.dirname, 'camera-fixtures');

/** What a decoder accepts must make an event the wire contract accepts (the edge emits it as is). */
function validEvent(r: Outcome<unknown>) {
  if (!r.ok) return;
  const msg = r.value as { kind?: string; type?: string; data?: unknown };
  if (msg.kind !== 'alarm') return;
  checkEvent({
    device: 'cam-1',
    type: msg.type!,
    severity: 'warning',
    ts: 1_800_000_000_000,
    data: msg.data as never,
  });
}
const DEVICE = '34020000001320000001';
const sipRequest = (method: string, extra: string[], body = '') =>
  Buffer.from(
    [
      `${method} sip:34020000002000000001@3402000000 SIP/2.0`,
      'Via: SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0',
      `From: <sip:${DEVICE}@3402000000>;tag=a`,
      `To: <sip:${method === 'REGISTER' ? DEVICE : '34020000002000000001'}@3402000000>`,
      'Call-ID: call-1@10.0.0.2',
      `CSeq: 20 ${method}`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
const alarmXml = `<?xml version="1.0" encoding="GB2312"?>
<Notify><CmdType>Alarm</CmdType><SN>17</SN><DeviceID>${DEVICE}</DeviceID><AlarmPriority>1</AlarmPriority><AlarmMethod>5</AlarmMethod><AlarmTime>2026-11-28T12:00:00</AlarmTime><AlarmDescription>zone 2</AlarmDescription><Longitude>120.15</Longitude><Latitude>30.28</Latitude><Info><AlarmType>6</AlarmType></Info></Notify>`;
const keepaliveXml = `<?xml version="1.0"?><Notify><CmdType>Keepalive</CmdType><SN>2</SN><DeviceID>${DEVICE}</DeviceID><Status>OK</Status></Notify>`;
const SIPS = [
  sipRequest('REGISTER', [
    `Contact: <sip:${DEVICE}@10.0.0.2:5060>`,
    'Expires: 3600',
    'Authorization: Digest username="34020000001320000001", realm="3402000000", nonce="1.x", uri="sip:34020000002000000001@3402000000", response="00112233445566778899aabbccddeeff", algorithm=MD5, qop=auth, nc=00000001, cnonce="ab"',
  ]),
  sipRequest('MESSAGE', ['Content-Type: Application/MANSCDP+xml'], alarmXml),
  Buffer.from(
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n',
  ),
];

describe('SIP parser (fuzz)', () => {
  it('random, truncated and mutated datagrams: a message or SipParseError; a 400 can be built when the headers allow', () => {
    for (const s of SIPS)
      expect(decodeChecked(() => parseSip(s), typedWithCode(SipParseError), 'sip').ok).toBe(true);
    fc.assert(
      fc.property(framesFrom(SIPS, 600), (bytes) => {
        const r = decodeChecked(() => parseSip(Buffer.from(bytes)), typedWithCode(SipParseError), 'sip');
        // what the server does next: answer, using the headers it has
        const h = r.ok
          ? r.value.kind === 'request'
            ? r.value.headers
            : undefined
          : (r.error as SipParseError).headers;
        if (canRespond(h)) buildResponse(h, 400, 'Bad Request');
      }),
      fuzzParams,
    );
  });
});

describe('MANSCDP body (fuzz)', () => {
  it('random, truncated and mutated bodies: a document or ManscdpError', () => {
    const typed = typedWithCode(ManscdpError);
    const decode = (body: Buffer) => {
      const doc = parseManscdp(decodeManscdpBody(body, 'Application/MANSCDP+xml'));
      return doc.cmdType === 'Alarm' ? alarmToMessage(doc) : doc;
    };
    const seeds = [Buffer.from(alarmXml), Buffer.from(keepaliveXml)];
    for (const s of seeds) expect(decodeChecked(() => decode(s), typed, 'manscdp').ok).toBe(true);
    fc.assert(
      fc.property(framesFrom(seeds, 300), (bytes) => {
        validEvent(decodeChecked(() => decode(Buffer.from(bytes)), typed, 'manscdp'));
      }),
      // Found by this test: the XML validator passes a malformed declaration the parser throws on.
      // And a non-numeric AlarmType, which became NaN in the event data (refused by the outbox,
      // so the device got no answer and retransmitted).
      {
        ...fuzzParams,
        examples: [
          [Buffer.from(`<?xml version=#1.0"?>${keepaliveXml.slice(21)}`)],
          [Buffer.from(alarmXml.replace('<AlarmType>6</AlarmType>', '<AlarmType>x</AlarmType>'))],
        ],
      },
    );
  });
});

describe('ISAPI EventNotificationAlert (fuzz)', () => {
  it('random, truncated and mutated XML: a message or IsapiError', () => {
    const seeds = ['isapi-linedetection.xml', 'isapi-anpr.xml', 'isapi-heartbeat.xml'].map((f) =>
      readFileSync(join(fixtures, f), 'utf8'),
    );
    const typed = typedWithCode(IsapiError);
    for (const s of seeds) expect(decodeChecked(() => parseIsapiAlert(s), typed, 'isapi').ok).toBe(true);
    fc.assert(
      fc.property(textsFrom(seeds), (xml) => {
        validEvent(decodeChecked(() => parseIsapiAlert(xml), typed, 'isapi'));
      }),
      // Found by this test: the XML validator passes a malformed declaration the parser throws on.
      { ...fuzzParams, examples: [[seeds[0]!.replace('version="1.0"', 'version=#1.0"')]] },
    );
  });
});

describe('generic JSON camera event (fuzz)', () => {
  it('random, truncated and mutated JSON: a message or JsonAlertError', () => {
    const seeds = [
      '{"type":"intrusion","time":"2026-11-28T12:00:00+08:00","channel":1,"zone":"gate","description":"x"}',
      '{"type":"face_match","person":"p-1","similarity":0.93}',
      '{"type":"heartbeat"}',
    ];
    const typed = typedWithCode(JsonAlertError);
    for (const s of seeds) expect(decodeChecked(() => parseJsonAlert(s), typed, 'json').ok).toBe(true);
    fc.assert(
      fc.property(textsFrom(seeds), (text) => {
        validEvent(decodeChecked(() => parseJsonAlert(text), typed, 'json'));
      }),
      fuzzParams,
    );
  });
});

describe('digest Authorization header (fuzz)', () => {
  it('random, truncated and mutated headers: always a result, never an exception', () => {
    const v = createDigestVerifier({ realm: '3402000000', requireQop: true });
    const ch = v.challenge('MD5');
    const nonce = /nonce="([^"]+)"/.exec(ch)![1]!;
    const seeds = [
      `Digest username="${DEVICE}", realm="3402000000", nonce="${nonce}", uri="sip:3402@3402000000", response="00112233445566778899aabbccddeeff", algorithm=MD5, qop=auth, nc=00000001, cnonce="ab"`,
      `Digest username="u", realm="3402000000", nonce="${nonce}", uri="/cam/1/isapi", response="0011", algorithm=SHA-256`,
    ];
    fc.assert(
      fc.property(textsFrom(seeds), (header) => {
        const r = decodeChecked(
          () => v.verify(header, 'REGISTER', undefined, () => 'pw'),
          () => false,
          'digest',
        );
        if (r.ok) expect(typeof r.value.ok).toBe('boolean');
      }),
      fuzzParams,
    );
  });
});
