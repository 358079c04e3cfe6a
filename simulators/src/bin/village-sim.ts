#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { versionLine } from '../build-info.js';
import { editFrames, parseShare } from '../record/recording-edit.js';
import { frameLine, headerLine, openRecording, readRecording } from '../record/recording-format.js';
import { type EndpointsFile, loadEndpoints } from '../replay/endpoints-file.js';
import { progressReporter } from '../replay/progress-reporter.js';
import { type PlaySummary, type StationEndpoints, playFrames } from '../replay/wire-player.js';
import { edgeDriversFor } from '../scenario/edge-drivers.js';
import { loadScenario } from '../scenario/scenario-load.js';
import type { Scenario } from '../scenario/scenario-schema.js';
import { planTraffic } from '../scenario/traffic-plan.js';
import { type UplinkRelay, startUplinkRelay } from '../scenario/uplink-relay.js';

/**
 * village-sim: run a village from a scenario, record what its devices send, replay or edit a
 * recording. Exit codes: 0 done, 1 frames failed, 2 bad input (the message names the file and key).
 */
const program = new Command()
  .name('village-sim')
  .description('Simulated villages: scenarios, recordings, replay and fault editing.')
  .version(versionLine('village-sim'), '-V, --version', 'print the version and git commit')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

const withSeed = (s: Scenario, seed?: string): Scenario =>
  seed === undefined ? s : { ...s, seed: /^-?\d+$/.test(seed) ? Number(seed) : seed };

function parseSpeed(text: string): number | 'max' {
  if (text === 'max') return 'max';
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(text);
  if (!m || Number(m[1]) <= 0) throw new RangeError(`--speed ${text}: must be 1, 60x, ... or max`);
  return Number(m[1]);
}

async function endpointsWithRelays(
  file: EndpointsFile,
  relays: UplinkRelay[],
): Promise<Record<string, StationEndpoints>> {
  const out: Record<string, StationEndpoints> = {};
  for (const [st, e] of Object.entries(file)) {
    let relay: UplinkRelay | undefined;
    if (e.relay) {
      const [host, port] = e.relay.target.split(':');
      relay = await startUplinkRelay({
        targetHost: host!,
        targetPort: Number(port),
        port: e.relay.port,
        host: e.host,
      });
      relays.push(relay);
    }
    out[st] = { host: e.host, lorawan: e.lorawan, nbiot: e.nbiot, camera: e.camera, modbus: e.modbus, relay };
  }
  return out;
}

async function play(
  header: Parameters<typeof playFrames>[0],
  frames: Parameters<typeof playFrames>[1],
  o: { endpoints: string; speed: number | 'max'; record?: string; quiet?: boolean },
): Promise<PlaySummary> {
  const relays: UplinkRelay[] = [];
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const recorder = o.record ? openRecording(o.record, header) : undefined;
  try {
    return await playFrames(header, frames, {
      endpoints: await endpointsWithRelays(loadEndpoints(o.endpoints), relays),
      speed: o.speed,
      recorder,
      progress: progressReporter(process.stderr, { quiet: o.quiet }),
      signal: abort.signal,
    });
  } finally {
    await recorder?.close();
    await Promise.all(relays.map((r) => r.stop()));
  }
}

const report = (summary: PlaySummary) => {
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
  process.exitCode = summary.errors > 0 ? 1 : 0;
};

program
  .command('check')
  .description('validate a scenario file')
  .argument('<scenario>')
  .action((file: string) => {
    const s = loadScenario(file);
    const { frames } = planTraffic(s);
    process.stdout.write(
      `${file}: ok, ${s.stations.length} stations, ${frames.length} frames over ${s.duration} ms\n`,
    );
  });

program
  .command('plan')
  .description('write the recording a scenario produces, without sending anything')
  .argument('<scenario>')
  .requiredOption('-o, --out <file>', 'recording to write (JSON lines)')
  .option('--seed <seed>', 'override the scenario seed')
  .action((file: string, o: { out: string; seed?: string }) => {
    const { header, frames } = planTraffic(withSeed(loadScenario(file), o.seed));
    writeFileSync(o.out, `${[headerLine(header), ...frames.map(frameLine)].join('\n')}\n`);
    process.stdout.write(`${o.out}: ${frames.length} frames\n`);
  });

program
  .command('run')
  .description('run a scenario against edges, time-compressed, optionally recording it')
  .argument('<scenario>')
  .requiredOption('-e, --endpoints <file>', 'endpoints.yaml: where each station’s edge listens')
  .option('-r, --record <file>', 'record every frame sent (JSON lines)')
  .option('--seed <seed>', 'override the scenario seed')
  .option('--compression <n>', 'scenario ms per wall ms (default: the scenario’s)')
  .option('-q, --quiet', 'no progress output')
  .action(
    async (
      file: string,
      o: { endpoints: string; record?: string; seed?: string; compression?: string; quiet?: boolean },
    ) => {
      const s = withSeed(loadScenario(file), o.seed);
      const { header, frames } = planTraffic(s);
      const speed = o.compression === undefined ? s.compression : parseSpeed(o.compression);
      report(await play(header, frames, { ...o, speed }));
    },
  );

program
  .command('replay')
  .description('replay a recording against edges at 1x, Nx or max speed')
  .argument('<recording>')
  .requiredOption('-e, --endpoints <file>', 'endpoints.yaml')
  .option('-s, --speed <speed>', '1 (real time), 60x, ..., or max (default: the recorded compression)')
  .option('-q, --quiet', 'no progress output')
  .action(async (file: string, o: { endpoints: string; speed?: string; quiet?: boolean }) => {
    const { header, frames } = await readRecording(file);
    const speed = o.speed === undefined ? header.compression : parseSpeed(o.speed);
    report(await play(header, frames, { ...o, speed }));
  });

program
  .command('edit')
  .description('drop, duplicate, delay or corrupt a share of a recording’s frames')
  .argument('<in>')
  .argument('<out>')
  .option('--drop <share>', 'e.g. 5%')
  .option('--duplicate <share>', 'e.g. 1%')
  .option('--delay <share:duration>', 'e.g. 2%:30s (scenario time)')
  .option('--corrupt <share>', 'flip one bit in a share of the frames')
  .addOption(new Option('--seed <seed>', 'chooses the frames').default('1'))
  .action(async (inFile: string, outFile: string, o: Record<string, string | undefined>) => {
    const { header, frames } = await readRecording(inFile);
    let delay: number | undefined;
    let delayMs: number | undefined;
    if (o.delay) {
      const [share, dur] = o.delay.split(':');
      delay = parseShare(share!);
      const m = /^(\d+)(ms|s|m)?$/.exec(dur ?? '1s');
      if (!m) throw new RangeError(`--delay ${o.delay}: duration must be like 500ms, 30s or 2m`);
      delayMs = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? ('ms' as const)] ?? 1);
    }
    const edited = editFrames(frames, {
      drop: o.drop ? parseShare(o.drop) : undefined,
      duplicate: o.duplicate ? parseShare(o.duplicate) : undefined,
      corrupt: o.corrupt ? parseShare(o.corrupt) : undefined,
      delay,
      delayMs,
      seed: o.seed,
    });
    writeFileSync(outFile, `${[headerLine(header), ...edited.frames.map(frameLine)].join('\n')}\n`);
    process.stdout.write(`${JSON.stringify({ edited: edited.report, frames: edited.frames.length })}\n`);
  });

program
  .command('edge-config')
  .description('print the edge.yaml drivers: section for one station, pointed at the endpoints')
  .argument('<scenario>')
  .requiredOption('--station <id>')
  .requiredOption('-e, --endpoints <file>', 'endpoints.yaml')
  .action((file: string, o: { station: string; endpoints: string }) => {
    const s = loadScenario(file);
    const ep = loadEndpoints(o.endpoints)[o.station];
    if (!ep) throw new RangeError(`${o.endpoints}: no station ${o.station}`);
    process.stdout.write(stringify({ drivers: edgeDriversFor(s, o.station, ep) }));
  });

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`village-sim: ${(err as Error).message}\n`);
  process.exit(2);
}
