import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLOUD_BIN, EDGE_BIN, type Proc, startProc } from './harness/processes.js';

/**
 * One log schema for both services. The schema lives in @village/service-kit (service-kit/src/log.ts),
 * the package below both bins (edge and cloud never import each other); no bin holds a copy, and
 * the real bins must write the same keys in the same forms.
 */
const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'e2e-log-schema-'));
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the log schema', () => {
  it('is one file, which both services import', () => {
    for (const pkg of ['edge-agent', 'cloud-ingest']) {
      expect(existsSync(join(repo, pkg, 'src', 'log.ts'))).toBe(false);
      const bin = pkg === 'edge-agent' ? 'village-edge.ts' : 'village-cloud.ts';
      expect(readFileSync(join(repo, pkg, 'src', 'bin', bin), 'utf8')).toMatch(
        /import \{[^}]*\bcreateLogger\b[^}]*\} from '@village\/service-kit'/,
      );
    }
    expect(readFileSync(join(repo, 'service-kit', 'src', 'log.ts'), 'utf8')).toMatch(
      /export function createLogger/,
    );
  });

  it('both bins write time (ISO), level (a name), svc and msg, and the same first line', async () => {
    writeFileSync(join(dir, 'cloud.yaml'), 'dataDir: ./cloud-data\nmqtt: { port: 0 }\nhttp: { port: 0 }\n');
    const cloud = startProc(CLOUD_BIN, ['--config', join(dir, 'cloud.yaml')], join(dir, 'cloud.log'));
    procs.push(cloud);
    const ready = await cloud.line((l) => l.msg === 'cloud ready');
    writeFileSync(
      join(dir, 'edge.yaml'),
      `edgeId: e1\ndataDir: ./edge-data\ncloud: { url: "mqtt://127.0.0.1:${ready.mqttPort}", password: pw }\n` +
        'health: { port: 0 }\ndrivers: [{ kind: fake, id: f1, devices: 1 }]\n',
    );
    const edge = startProc(EDGE_BIN, ['--config', join(dir, 'edge.yaml')], join(dir, 'edge.log'));
    procs.push(edge);
    await edge.line((l) => l.msg === 'edge ready');
    for (const [p, svc] of [
      [cloud, 'village-cloud'],
      [edge, 'village-edge'],
    ] as const) {
      for (const l of p.lines) {
        expect(l).toMatchObject({ svc, msg: expect.any(String) });
        expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
      }
    }
    const keys = (p: Proc) => Object.keys(p.lines[0]!).sort();
    expect(keys(edge)).toEqual(keys(cloud));
    expect(edge.lines[0]!.msg).toBe('village-edge starting');
    expect(cloud.lines[0]!.msg).toBe('village-cloud starting');
  });
});
