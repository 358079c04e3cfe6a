import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProfileError, loadProfileFile } from '@village/device-drivers/modbus';
import {
  CodecExamplesError,
  CodecProfileError,
  type ConformanceFailure,
  JsCodecError,
  codecConformance,
  codecProfileConformance,
  createJsCodec,
  loadCodecExamples,
} from '@village/device-drivers/testing';
import { Command, Option } from 'commander';
import { parse } from 'yaml';

/** Exit codes a vendor's script can trust: 0 all good, 1 examples failed, 2 a file is invalid or unreadable. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_INVALID = 2;

/**
 * The vendor's commands (docs/vendor-guide.md), run without an edge config:
 * `village-edge check-profile FILE` validates a device profile (a Modbus register map, or a
 * LoRaWAN / NB-IoT codec profile whose JavaScript it compiles and whose examples it runs), and
 * `village-edge test-codec FILE --examples FILE` runs a JavaScript codec (or a codec profile's)
 * against an examples file through the same conformance kit the project's own codecs pass.
 * Every message names the file and the field.
 */
export async function runVendorCli(argv: string[]): Promise<never> {
  const program = new Command()
    .name('village-edge')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_INVALID));
  program
    .command('check-profile')
    .description(
      'validate a device profile: a Modbus profile, or a LoRaWAN/NB-IoT codec profile and its examples',
    )
    .argument('<file>', 'the profile YAML')
    .action((file: string) => process.exit(checkProfile(file)));
  program
    .command('test-codec')
    .description("run a JavaScript codec (or a codec profile's) against an examples file")
    .argument('<file>', 'the codec .js file, or a codec profile .yaml')
    .requiredOption('--examples <file>', 'the examples YAML (input bytes and the exact expected output)')
    .addOption(
      new Option('--transport <transport>', 'transport of a bare .js codec')
        .choices(['lorawan', 'nbiot'])
        .default('lorawan'),
    )
    .action((file: string, o: { examples: string; transport: 'lorawan' | 'nbiot' }) =>
      process.exit(testCodec(file, o.examples, o.transport)),
    );
  await program.parseAsync(argv, { from: 'user' });
  return process.exit(EXIT_INVALID);
}

/** A codec profile names its transport; a Modbus profile has points. */
function checkProfile(file: string): number {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return invalid(`${file}: cannot read as YAML: ${(err as Error).message}`);
  }
  if (typeof raw === 'object' && raw !== null && 'transport' in raw) {
    return guard(() => {
      const { profile, failures } = codecProfileConformance(file);
      if (failures.length > 0) return failed(file, failures);
      const what = `${profile.spec.transport} codec profile ${profile.spec.name}`;
      return ok(`${file}: ok (${what}, examples in ${path.basename(profile.examplesFile!)} pass)`);
    });
  }
  return guard(() => {
    const profile = loadProfileFile(file);
    return ok(`${file}: ok (Modbus profile ${profile.name}, ${profile.points.length} points)`);
  });
}

function testCodec(file: string, examplesFile: string, transport: 'lorawan' | 'nbiot'): number {
  return guard(() => {
    const examples = loadCodecExamples(examplesFile);
    if (!file.endsWith('.js')) {
      // A profile: its own examples are replaced by the ones given.
      const { profile } = codecProfileConformance(file);
      return report(file, codecConformance(profile.codec, examples), examples.length);
    }
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      return invalid(`${file}: cannot read: ${(err as Error).message}`);
    }
    const name = path.basename(file, '.js');
    const codec = createJsCodec({ name, transport, source, file });
    try {
      return report(file, codecConformance(codec, examples), examples.length);
    } finally {
      codec.dispose();
    }
  });
}

function report(file: string, failures: ConformanceFailure[], examples: number): number {
  return failures.length > 0 ? failed(file, failures) : ok(`${file}: ok (${examples} examples pass)`);
}

function ok(line: string): number {
  process.stdout.write(`${line}\n`);
  return EXIT_OK;
}

function failed(file: string, failures: ConformanceFailure[]): number {
  for (const f of failures) process.stderr.write(`${file}: ${f.check}: ${f.message}\n`);
  process.stderr.write(`${file}: ${failures.length} check(s) failed\n`);
  return EXIT_FAILED;
}

function invalid(message: string): number {
  process.stderr.write(`${message}\n`);
  return EXIT_INVALID;
}

/** The kit's typed errors are a bad file (exit 2); anything else is a bug and is thrown. */
function guard(run: () => number): number {
  try {
    return run();
  } catch (err) {
    if (
      err instanceof CodecProfileError ||
      err instanceof CodecExamplesError ||
      err instanceof JsCodecError ||
      err instanceof ProfileError
    )
      return invalid(err.message);
    throw err;
  }
}
