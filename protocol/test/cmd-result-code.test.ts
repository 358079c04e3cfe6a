import { describe, expect, it } from 'vitest';
import { ProtocolError, decodeCommandResult, encodeJson } from '../src/index.js';

/** A command result's error code crosses the wire intact (issue 18); a malformed one is refused by name. */
describe('cmd-result code', () => {
  it('round-trips a snake_case code with the error', () => {
    const r = {
      id: 'c1',
      ok: false,
      ts: 1_700_000_000_000,
      error: 'no action "x"',
      code: 'command_rejected',
    };
    expect(decodeCommandResult(encodeJson(r))).toEqual(r);
  });
  it('refuses a code that is not snake_case, naming the field', () => {
    const bad = encodeJson({
      id: 'c1',
      ok: false,
      ts: 1_700_000_000_000,
      error: 'e',
      code: 'Not A Code',
    } as never);
    expect(() => decodeCommandResult(bad)).toThrow(ProtocolError);
    expect(() => decodeCommandResult(bad)).toThrow(/cmd-result\.code/);
  });
});
