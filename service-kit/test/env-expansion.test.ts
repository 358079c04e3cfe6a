import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.js';
import { expandEnvReferences, expandEnvTree } from '../src/env-expansion.js';

describe('${ENV} expansion', () => {
  it('replaces every reference in a string', () => {
    expect(expandEnvReferences('${A}:${B_2}', { A: 'x', B_2: 'y' })).toBe('x:y');
  });

  // The edge's copy took [A-Z_][A-Z0-9_]* only: `${edge_pw}` stayed in the password as literal text.
  it('takes lower-case names too, as POSIX allows and the cloud always did', () => {
    expect(expandEnvReferences('${edge_pw}', { edge_pw: 's3cret' })).toBe('s3cret');
    expect(expandEnvTree({ cloud: { password: '${Edge_Pw}' } }, 'edge.yaml', { Edge_Pw: 's3cret' })).toEqual({
      cloud: { password: 's3cret' },
    });
  });

  it('leaves what is not a reference alone', () => {
    expect(expandEnvReferences('$HOME ${1X} ${} $${', {})).toBe('$HOME ${1X} ${} $${');
  });

  it('names an unset variable, and in a tree the file and key', () => {
    expect(() => expandEnvReferences('${NOPE}', {})).toThrow('environment variable NOPE is not set');
    const tree = { drivers: [{ id: 'd', key: '${lower_key}' }] };
    expect(() => expandEnvTree(tree, 'edge.yaml', {})).toThrow(ConfigError);
    expect(() => expandEnvTree(tree, 'edge.yaml', {})).toThrow(
      'edge.yaml: drivers[0].key: environment variable lower_key is not set',
    );
    expect(() => expandEnvTree(tree, 'cloud.yaml', {}, 'dot')).toThrow(
      'cloud.yaml: drivers.0.key: environment variable lower_key is not set',
    );
  });

  it('keeps numbers, booleans and nulls as they are', () => {
    expect(expandEnvTree({ a: 1, b: true, c: null, d: ['${X}'] }, 'f.yaml', { X: 'x' })).toEqual({
      a: 1,
      b: true,
      c: null,
      d: ['x'],
    });
  });
});
