import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, formatKey } from '../src/zod-issues.js';

const schema = z.strictObject({
  users: z.array(z.strictObject({ place: z.string() })),
  port: z.number(),
});
const issues = (raw: unknown) => {
  const r = schema.safeParse(raw);
  if (r.success) throw new Error('expected issues');
  return r.error.issues;
};

describe('zod issues as messages naming file and key', () => {
  it('dot style (cloud.yaml, registry.yaml), without zod’s "Invalid input: " lead', () => {
    expect(describeIssues('cloud.yaml', issues({ users: [{ place: 1 }], port: 1 }))).toBe(
      'cloud.yaml: users.0.place: expected string, received number',
    );
  });

  it('bracket style with a prefix (edge.yaml, one driver’s own schema)', () => {
    expect(
      describeIssues('edge.yaml', issues({ users: [{ place: 1 }], port: 1 }), {
        style: 'bracket',
        prefix: 'drivers[2]',
      }),
    ).toBe('edge.yaml: drivers[2].users[0].place: expected string, received number');
  });

  it('one line per issue; the top level is named as such', () => {
    expect(describeIssues('f.yaml', issues('x'))).toBe(
      'f.yaml: (top level): expected object, received string',
    );
    expect(describeIssues('f.yaml', issues({ users: [], port: 'p', extra: 1 })).split('\n')).toHaveLength(2);
  });

  it('formats a key path in either style', () => {
    expect(formatKey(['a', 0, 'b', 1], 'bracket')).toBe('a[0].b[1]');
    expect(formatKey(['a', 0, 'b', 1], 'dot')).toBe('a.0.b.1');
    expect(formatKey([0, 'x'], 'bracket')).toBe('[0].x');
    expect(formatKey([], 'dot', 'drivers[0]')).toBe('drivers[0]');
  });
});
