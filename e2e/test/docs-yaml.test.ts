import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUD_CONFIG_KEYS, hashPassword, parseConfig, parseRegistry } from '@village/cloud-ingest';
import { parseProfile } from '@village/device-drivers/modbus';
import {
  SHIPPED_CODEC_PROFILES_DIR,
  codecProfileSchema,
  loadCodecExamples,
} from '@village/device-drivers/testing';
import { DRIVER_KIND_NAMES, loadDriverKinds, loadEdgeConfig } from '@village/edge-agent';
import { loadEndpoints } from '@village/simulators';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

/**
 * Every ```yaml block of README.md and docs/*.md (and the example files) must parse, and a config example must pass the
 * schema it is an example of, so the docs cannot drift from the code. Which schema: a first-line
 * hint (`# cloud.yaml`, `# edge.yaml`, `# registry.yaml`), else the keys the block holds. A
 * fragment (`drivers:` alone, one `- kind:` entry, `sink:` alone) is checked inside a minimal
 * file. `${VAR}` references get a value (32 hex digits: a key or a password); a password hash written as `scrypt$…`/`...` is a
 * placeholder for a real one. A block that fits no schema fails, so a new kind of example must
 * be taught here.
 */
const repo = join(import.meta.dirname, '..', '..');
const files = ['README.md', ...readdirSync(join(repo, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const blocks: { where: string; yaml: string }[] = files.flatMap((file) => {
  const text = readFileSync(join(repo, file), 'utf8');
  return [...text.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => ({
    where: `${file}:${text.slice(0, m.index).split('\n').length}`,
    yaml: m[1]!,
  }));
});

// The example files beside the code are examples too; their names say what they are.
for (const [file, hint] of [
  ['cloud-ingest/examples/cloud.yaml', 'cloud'],
  ['cloud-ingest/examples/registry.yaml', 'registry'],
]) {
  blocks.push({ where: file!, yaml: `# ${hint}.yaml\n${readFileSync(join(repo, file!), 'utf8')}` });
}

const dir = mkdtempSync(join(tmpdir(), 'e2e-docs-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kinds = await loadDriverKinds(DRIVER_KIND_NAMES);
const CLOUD_KEYS = new Set(CLOUD_CONFIG_KEYS);
const EDGE_KEYS = new Set(['edgeId', 'drivers', 'localRules', 'outbox', 'health', 'cloud']);
const MINIMAL_EDGE = { edgeId: 'doc-edge', cloud: { url: 'mqtt://127.0.0.1:1883', password: 'pw' } };
const REAL_HASH = hashPassword('doc example');

type Kind =
  | 'edge'
  | 'cloud'
  | 'registry'
  | 'modbus-profile'
  | 'codec-profile'
  | 'sim-endpoints'
  | 'codec-examples'
  | 'foreign';
// Another program's file shown for integration (Prometheus scrape config): checked as YAML only.
const FOREIGN_HINT = /^#\s*(prometheus|mosquitto|patroni|grafana[\w-]*)\.ya?ml\b/;
function kindOf(yaml: string, doc: unknown): Kind | undefined {
  const hint = /^#\s*(edge|cloud|registry)\.yaml/.exec(yaml)?.[1];
  if (hint) return hint as Kind;
  if (FOREIGN_HINT.test(yaml)) return 'foreign';
  if (Array.isArray(doc)) return doc.every((d) => typeof d?.kind === 'string') ? 'edge' : undefined;
  if (doc === null || typeof doc !== 'object') return undefined;
  const keys = Object.keys(doc);
  if ('points' in doc && 'kind' in doc) return 'modbus-profile';
  if ('transport' in doc && 'codec' in doc && 'metrics' in doc) return 'codec-profile';
  if (keys.length === 1 && 'examples' in doc) return 'codec-examples';
  if ('counties' in doc || ('people' in doc && !('rules' in doc))) return 'registry';
  if (
    keys.some((k) => EDGE_KEYS.has(k)) &&
    keys.every((k) => EDGE_KEYS.has(k) || k === 'dataDir' || k === 'log')
  )
    return 'edge';
  if (keys.every((k) => CLOUD_KEYS.has(k))) return 'cloud';
  if (Object.values(doc).every((v) => typeof (v as { host?: unknown })?.host === 'string'))
    return 'sim-endpoints';
  return undefined;
}

// Profiles the docs write, so an edge example may name one by profilePath.
const profilesDir = join(dir, 'profiles');
mkdirSync(profilesDir, { recursive: true });
// ... and the shipped codec profiles (docs/vendor-guide.md), so one may name them by codecProfile.
cpSync(SHIPPED_CODEC_PROFILES_DIR, profilesDir, { recursive: true });
for (const b of blocks) {
  const parsed = parseDocument(b.yaml);
  if (parsed.errors.length > 0) continue; // reported by its own test below
  const doc = parsed.toJS() as { name?: string; points?: unknown } | null;
  if (doc?.points && doc.name) writeFileSync(join(profilesDir, `${doc.name}.yaml`), b.yaml);
}

describe('YAML examples in README.md and docs/', () => {
  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(14);
  });

  it.each(blocks.map((b) => [b.where, b] as const))('%s', (_where, { yaml, where }) => {
    const parsed = parseDocument(yaml);
    expect(
      parsed.errors.map((e) => e.message),
      `${where} is not valid YAML`,
    ).toEqual([]);
    for (const name of yaml.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g))
      process.env[name[1]!] ??= '00112233445566778899aabbccddeeff';
    const doc = parsed.toJS() as unknown;
    const kind = kindOf(yaml, doc);
    expect(kind, `${where}: no schema fits this block; teach docs-yaml.test.ts which it is`).toBeDefined();
    const file = join(dir, `${where.replace(/[/:.]/g, '_')}.yaml`);
    const withHashes = JSON.parse(
      JSON.stringify(doc, (k, v) => (k === 'passwordHash' && /(\.\.\.|…)$/.test(v) ? REAL_HASH : v)),
    );
    switch (kind) {
      case 'edge': {
        const edge = Array.isArray(doc)
          ? { ...MINIMAL_EDGE, drivers: doc }
          : { ...MINIMAL_EDGE, ...(doc as object) };
        writeFileSync(file, JSON.stringify(edge));
        expect(() => loadEdgeConfig(file, kinds)).not.toThrow();
        break;
      }
      case 'cloud':
        expect(() => parseConfig(withHashes, dir, where)).not.toThrow();
        break;
      case 'registry':
        expect(() => parseRegistry(doc, where)).not.toThrow();
        break;
      case 'modbus-profile':
        expect(() => parseProfile(yaml, where)).not.toThrow();
        break;
      case 'codec-profile':
        expect(codecProfileSchema.safeParse(doc).error?.issues ?? []).toEqual([]);
        break;
      case 'codec-examples':
        writeFileSync(file, yaml);
        expect(() => loadCodecExamples(file)).not.toThrow();
        break;
      case 'sim-endpoints':
        writeFileSync(file, yaml);
        expect(() => loadEndpoints(file)).not.toThrow();
        break;
    }
  });
});
