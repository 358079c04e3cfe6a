import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.js';
import { readYamlFile } from '../src/yaml-file.js';

const dir = mkdtempSync(join(tmpdir(), 'service-kit-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('reading a YAML config file', () => {
  it('gives plain data; an empty file is null', () => {
    expect(readYamlFile(write('ok.yaml', 'a: 1\nb: [x, "${NOT_EXPANDED}"]\n'))).toEqual({
      a: 1,
      b: ['x', '${NOT_EXPANDED}'],
    });
    expect(readYamlFile(write('empty.yaml', ''))).toBeNull();
  });

  it('names the file as the bin labels it, and what is wrong', () => {
    const missing = join(dir, 'missing.yaml');
    expect(() => readYamlFile(missing, 'missing.yaml')).toThrow(ConfigError);
    expect(() => readYamlFile(missing, 'missing.yaml')).toThrow(/^missing\.yaml: cannot read: ENOENT/);
    const bad = write('bad.yaml', 'a: [unclosed\n');
    expect(() => readYamlFile(bad)).toThrow(
      new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid YAML: `),
    );
    expect(() => readYamlFile(write('dup.yaml', 'a: 1\na: 2\n'), 'dup.yaml')).toThrow(
      /^dup\.yaml: not valid YAML: /,
    );
  });
});
