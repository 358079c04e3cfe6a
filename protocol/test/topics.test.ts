import { describe, expect, it } from 'vitest';
import { ProtocolError, parseTopic, topics } from '../src/index.js';

describe('topics', () => {
  it('builds and parses every channel', () => {
    expect(topics.batch('edge-1')).toBe('v1/e/edge-1/up/batch');
    expect(parseTopic(topics.batch('edge-1'))).toEqual({
      edgeId: 'edge-1',
      direction: 'up',
      channel: 'batch',
    });
    expect(parseTopic(topics.ack('e.2'))).toEqual({ edgeId: 'e.2', direction: 'down', channel: 'ack' });
    expect(parseTopic(topics.cmdResult('x'))).toEqual({
      edgeId: 'x',
      direction: 'up',
      channel: 'cmd-result',
    });
  });
  it('refuses topics outside the tree and wildcard ids', () => {
    for (const t of [
      'v1/e/edge-1/up/ack',
      'v1/e/+/up/batch',
      'v2/e/x/up/batch',
      'v1/e/x/up/batch/more',
      'v1/e//up/batch',
    ]) {
      expect(() => parseTopic(t)).toThrow(ProtocolError);
    }
    expect(() => topics.batch('a/b')).toThrow(ProtocolError);
    expect(() => topics.batch('#')).toThrow(ProtocolError);
  });
});
