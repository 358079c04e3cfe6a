import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CodecProfileError, loadCodecProfile } from '../src/codecs/codec-profile.js';
import {
  JS_CODEC_HEAP_BYTES,
  JsCodecError,
  createJsCodec,
  jsCodecHeapBytes,
} from '../src/codecs/js-codec.js';

/** The sandbox a JavaScript codec runs in (QuickJS as WebAssembly): limits, errors with codes, recovery. */
const FIXTURES = fileURLToPath(new URL('./codec-fixtures/', import.meta.url));
const up = (...bytes: number[]) => ({ bytes: Uint8Array.from(bytes), fPort: 1 });

describe('a JavaScript codec in the sandbox', () => {
  const profile = loadCodecProfile(join(FIXTURES, 'runaway.yaml'));
  const codec = profile.codec;

  it('decodes as the vendor wrote it', () => {
    expect(codec.decodeUplink(up(42))).toEqual({ data: { level: 42 }, errors: [], warnings: [] });
  });

  it('a codec that loops forever is stopped at its deadline, reported with a code, and the next call works', () => {
    const t = performance.now();
    const r = codec.decodeUplink(up(0xff));
    expect(performance.now() - t).toBeLessThan(10_000);
    expect(r.data).toBeUndefined();
    expect(r.errors).toEqual([
      expect.stringMatching(/^js_codec_timeout: runaway: decodeUplink ran longer than 1000 ms$/),
    ]);
    expect(codec.decodeUplink(up(7)).data).toEqual({ level: 7 });
  });

  it('a codec that allocates without bound hits the memory limit, is reported, and the next call works', () => {
    const r = codec.decodeUplink(up(0xfe));
    expect(r.errors).toEqual([
      expect.stringMatching(/^js_codec_memory: runaway: .*out of memory.*1048576 bytes/),
    ]);
    expect(codec.decodeUplink(up(8)).data).toEqual({ level: 8 });
  });

  it('a codec hoarding large buffers is stopped too, and the sandbox heap never grows past its cap', () => {
    const r = codec.decodeUplink(up(0xfc));
    // Out of heap or out of time, whichever comes first on this machine: stopped either way.
    expect(r.errors).toEqual([expect.stringMatching(/^js_codec_(memory|timeout): runaway: /)]);
    expect(jsCodecHeapBytes()).toBeLessThanOrEqual(JS_CODEC_HEAP_BYTES);
    expect(codec.decodeUplink(up(9)).data).toEqual({ level: 9 });
  });

  it('a throw is an error with a code; faults are counted by code', () => {
    expect(codec.decodeUplink(up(0xfd)).errors).toEqual([
      'js_codec_throw: runaway: decodeUplink threw TypeError: vendor bug',
    ]);
    expect(codec.faults.js_codec_throw).toBe(1);
    expect(codec.faults.js_codec_timeout).toBeGreaterThanOrEqual(1);
    expect(codec.faults.js_codec_memory).toBeGreaterThanOrEqual(1);
  });

  it('the vendor code sees no Node: no require, process, or module', () => {
    const probe = createJsCodec({
      name: 'probe',
      transport: 'lorawan',
      file: 'probe.js',
      source:
        'function decodeUplink() { return { data: { r: typeof require, p: typeof process, m: typeof module, f: typeof fetch } }; }',
    });
    expect(probe.decodeUplink(up()).data).toEqual({
      r: 'undefined',
      p: 'undefined',
      m: 'undefined',
      f: 'undefined',
    });
    probe.dispose();
  });

  it('a result of the wrong shape is js_codec_bad_result; no encodeDownlink is an error, not a throw', () => {
    const bad = createJsCodec({
      name: 'bad',
      transport: 'lorawan',
      file: 'bad.js',
      source: 'function decodeUplink(i) { return i.bytes[0] ? { errors: "one" } : 5; }',
    });
    expect(bad.decodeUplink(up(1)).errors).toEqual([
      expect.stringMatching(/^js_codec_bad_result: bad: decodeUplink result errors: /),
    ]);
    expect(bad.decodeUplink(up(0)).errors[0]).toMatch(/^js_codec_bad_result: bad: decodeUplink result : /);
    expect(bad.encodeDownlink({ data: { action: 'x' } }).errors).toEqual([
      'bad: no encodeDownlink in bad.js; send raw bytes',
    ]);
    bad.dispose();
  });

  it('a file that does not compile, lacks decodeUplink or loops at load is refused with a code', () => {
    const make = (source: string) => () =>
      createJsCodec({ name: 'x', transport: 'nbiot', file: 'x.js', source });
    expect(make('function decodeUplink( {')).toThrow(JsCodecError);
    expect(make('function decodeUplink( {')).toThrow(/x\.js: js_codec_compile: SyntaxError/);
    expect(make('var x = 1;')).toThrow(/x\.js: js_codec_missing_function: defines no function decodeUplink/);
    expect(make('for (;;) {} function decodeUplink() {}')).toThrow(
      /js_codec_compile: InternalError: interrupted/,
    );
    // (the load deadline is 1 s)
  });
});

describe('a codec profile file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'codec-profile-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  it('a bad field is refused naming the file and the field', () => {
    const f = write(
      'p1.yaml',
      'name: p1\ntransport: zigbee\ncodec: { file: p1.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    expect(() => loadCodecProfile(f)).toThrow(CodecProfileError);
    expect(() => loadCodecProfile(f)).toThrow(/p1\.yaml: transport: /);
  });
  it('a codec file that is missing or does not compile is refused as codec.file', () => {
    const f = write(
      'p2.yaml',
      'name: p2\ntransport: nbiot\ncodec: { file: p2.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    expect(() => loadCodecProfile(f)).toThrow(/p2\.yaml: codec\.file: cannot read .*p2\.js/);
    write('p2.js', 'function decodeUplink( {');
    expect(() => loadCodecProfile(f)).toThrow(
      /p2\.yaml: codec\.file: .*p2\.js: js_codec_compile: SyntaxError/,
    );
  });
  it('metrics become readings with units and a boolean field raises its event on the rising edge only', () => {
    const p = loadCodecProfile(
      fileURLToPath(new URL('../profiles/codecs/river-gauge.yaml', import.meta.url)),
    );
    const active = new Set<string>();
    const d = p.codec.decodeUplink(up(0x01, 0xc7, 75, 1)).data;
    const first = p.toTelemetry(d, 'gauge-1', 1000, active);
    expect(first.readings).toEqual([
      { device: 'gauge-1', metric: 'water_level', value: 455, unit: 'cm', ts: 1000, quality: 'good' },
      { device: 'gauge-1', metric: 'battery', value: 75, unit: '%', ts: 1000, quality: 'good' },
    ]);
    expect(first.events).toEqual([
      {
        device: 'gauge-1',
        type: 'flood_warning',
        severity: 'critical',
        ts: 1000,
        data: { water_level: 455, battery: 75 },
      },
    ]);
    expect(p.toTelemetry(d, 'gauge-1', 2000, active).events).toEqual([]);
    p.codec.dispose();
  });
});
