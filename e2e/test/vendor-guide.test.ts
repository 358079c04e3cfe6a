import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { driverConformance } from '@village/device-drivers/testing';
import { loadDriverKinds } from '@village/edge-agent';
import { describe, expect, it } from 'vitest';
import { EDGE_BIN } from './harness/processes.js';

/**
 * docs/vendor-guide.md follows real files: every block marked `<!-- file: PATH -->` must appear
 * verbatim in that file, every `village-edge` command of its sh blocks is run with the built bin
 * from the repository root and must succeed with the output the guide shows, and the new-protocol
 * walk-through's harness runs against the kind as the edge's registry loads it. (The YAML blocks
 * are checked against their schemas by docs-yaml.test.ts.)
 */
const repo = join(import.meta.dirname, '..', '..');
const guide = readFileSync(join(repo, 'docs', 'vendor-guide.md'), 'utf8');
const line = (index: number) => guide.slice(0, index).split('\n').length;

const shown = [...guide.matchAll(/^<!-- file: (\S+) -->\n```\w+\n([\s\S]*?)^```/gm)].map((m) => ({
  file: m[1]!,
  text: m[2]!,
  at: line(m.index),
}));
const commands = [...guide.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => {
  const lines = m[1]!.split('\n');
  return lines.flatMap((l, i) =>
    l.startsWith('village-edge ') && !l.includes('FILE')
      ? [
          {
            args: l.split('#')[0]!.trim().split(/\s+/).slice(1),
            expect: /^# \.{0,3}(.*)$/.exec(lines[i + 1] ?? '')?.[1],
          },
        ]
      : [],
  );
});

describe('docs/vendor-guide.md', () => {
  it('shows real files and runs real commands', () => {
    expect(shown.length).toBeGreaterThanOrEqual(7);
    expect(commands.length).toBeGreaterThanOrEqual(4);
  });

  for (const s of shown) {
    it(`line ${s.at}: the excerpt is in ${s.file}`, () => {
      expect(readFileSync(join(repo, s.file), 'utf8')).toContain(s.text);
    });
  }

  for (const c of commands) {
    it(`village-edge ${c.args.join(' ')}`, { timeout: 120_000 }, () => {
      const r = spawnSync(process.execPath, [EDGE_BIN, ...c.args], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 110_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      if (c.expect) expect(r.stdout).toContain(c.expect);
    });
  }

  it("walk-through 4: the fake driver, loaded through the edge's registry, passes driverConformance", async () => {
    const kind = (await loadDriverKinds(['fake'])).get('fake')!;
    expect(kind.kind).toBe('fake');
    const failures = await driverConformance({
      name: 'fake',
      create: () => kind.create(kind.configSchema.parse({ devices: 2 }), { id: 'fake', configDir: '.' }),
      badCommand: { id: 'c1', device: 'nope', action: 'x', params: {} },
    });
    expect(failures).toEqual([]);
  });
});
