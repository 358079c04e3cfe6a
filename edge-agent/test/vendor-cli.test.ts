import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/**
 * The vendor's commands through the built bin (child processes): `village-edge check-profile` and
 * `village-edge test-codec`, their exit codes (0 ok, 1 failed examples, 2 invalid file) and
 * messages naming the file and the field. The profiles checked are the shipped ones the vendor
 * guide shows, and copies of them broken one field at a time.
 */
const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'village-edge.js');
const SHIPPED = join(import.meta.dirname, '..', '..', 'device-drivers', 'profiles');
const CODECS = join(SHIPPED, 'codecs');
const dir = mkdtempSync(join(tmpdir(), 'vendor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Each case starts the bin (a few seconds on a busy CI box); nothing here waits on a timer.
vi.setConfig({ testTimeout: 120_000 });

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('village-edge check-profile', () => {
  it('a shipped codec profile: its JavaScript compiles and its examples pass (exit 0)', () => {
    const r = run('check-profile', join(CODECS, 'acme-soil.yaml'));
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(
      /acme-soil\.yaml: ok \(lorawan codec profile acme-soil, examples in acme-soil\.examples\.yaml pass\)/,
    );
  });

  it('a shipped Modbus profile (exit 0)', () => {
    const r = run('check-profile', join(SHIPPED, 'pm25-sensor.yaml'));
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/pm25-sensor\.yaml: ok \(Modbus profile pm25-sensor, 5 points\)/);
  });

  it('a bad field is exit 2, naming the file and the field', () => {
    const f = write(
      'bad-transport.yaml',
      'name: x\ntransport: zigbee\ncodec: { file: x.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    const r = run('check-profile', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad-transport\.yaml: transport: /);
    const m = write(
      'bad-point.yaml',
      'name: m\nkind: k\npoints:\n  - { name: p, table: holding, address: -1, type: u16 }\n',
    );
    const rm = run('check-profile', m);
    expect(rm.code).toBe(2);
    expect(rm.err).toMatch(/bad-point\.yaml: point p: address: /);
  });

  it('a codec that does not compile is exit 2 naming codec.file', () => {
    write('broken.js', 'function decodeUplink( {');
    const f = write(
      'broken.yaml',
      'name: b\ntransport: nbiot\ncodec: { file: broken.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    const r = run('check-profile', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.yaml: codec\.file: .*broken\.js: js_codec_compile: SyntaxError/);
  });

  it('a profile whose examples fail is exit 1, each failure named', () => {
    copyFileSync(join(CODECS, 'acme-soil.yaml'), join(dir, 'soil.yaml'));
    copyFileSync(join(CODECS, 'acme-soil.examples.yaml'), join(dir, 'acme-soil.examples.yaml'));
    // The vendor's codec with a bug: moisture no longer scaled by 0.1.
    write(
      'acme-soil.js',
      readShipped('acme-soil.js').replace('((b[0] << 8) | b[1]) / 10', '(b[0] << 8) | b[1]'),
    );
    const r = run('check-profile', join(dir, 'soil.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /soil\.yaml: example: lorawan\/acme-soil: "41\.2 % moisture.*expected .*"moisture":41\.2.* got .*"moisture":412/,
    );
    expect(r.err).toMatch(/soil\.yaml: 2 check\(s\) failed/);
  });
});

describe('village-edge test-codec', () => {
  it('a JavaScript codec with its examples (exit 0)', () => {
    const r = run(
      'test-codec',
      join(CODECS, 'river-gauge.js'),
      '--examples',
      join(CODECS, 'river-gauge.examples.yaml'),
      '--transport',
      'nbiot',
    );
    expect(r).toMatchObject({ code: 0, out: `${join(CODECS, 'river-gauge.js')}: ok (3 examples pass)\n` });
  });

  it('examples the codec does not meet are exit 1', () => {
    const r = run(
      'test-codec',
      join(CODECS, 'river-gauge.js'),
      '--examples',
      join(CODECS, 'acme-soil.examples.yaml'),
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/river-gauge\.js: example: lorawan\/river-gauge: "a short frame is an error"/);
  });

  it('an invalid examples file or codec is exit 2, naming the file and the key', () => {
    const ex = write(
      'bad.examples.yaml',
      'examples:\n  - description: d\n    input: { bytes: "0g", fPort: 1 }\n    output: {}\n',
    );
    const r = run('test-codec', join(CODECS, 'river-gauge.js'), '--examples', ex);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.examples\.yaml: examples\.0\.input\.bytes: must be hex bytes/);
    const js = write('nofn.js', 'var x = 1;');
    const r2 = run('test-codec', js, '--examples', join(CODECS, 'river-gauge.examples.yaml'));
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/nofn\.js: js_codec_missing_function: defines no function decodeUplink/);
    expect(run('test-codec', join(CODECS, 'river-gauge.js')).code).toBe(2); // --examples is required
  });

  it('a codec that loops forever fails its examples with js_codec_timeout rather than hanging (exit 1)', () => {
    const js = write('loop.js', 'function decodeUplink() { for (;;) {} }');
    const r = run('test-codec', js, '--examples', join(CODECS, 'river-gauge.examples.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /loop\.js: example: lorawan\/loop: .*js_codec_timeout: loop: decodeUplink ran longer than 100 ms/,
    );
  });
});

function readShipped(name: string): string {
  return readFileSync(join(CODECS, name), 'utf8');
}
