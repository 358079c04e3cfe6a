import type { z } from 'zod';

/**
 * How a key path is written in a message: `bracket` gives `drivers[0].port` (edge.yaml, as the
 * edge's docs show it), `dot` gives `users.0.place` (cloud.yaml and registry.yaml, as the cloud's
 * docs show it). Both bins keep the form their operators already grep for.
 */
export type KeyStyle = 'bracket' | 'dot';

/** A key path as a message names it, after an optional prefix (`drivers[0]`); '' for none. */
export function formatKey(path: readonly PropertyKey[], style: KeyStyle, prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number' && style === 'bracket') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export interface DescribeOptions {
  style?: KeyStyle;
  /** Where the checked object sits in the file, e.g. `drivers[0]` for one driver's own schema. */
  prefix?: string;
}

/**
 * Formats zod issues as `file: key.path: problem` lines, so the message names the file and the
 * key. zod's generic `Invalid input: ` lead is dropped: the key already says where.
 */
export function describeIssues(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  { style = 'dot', prefix = '' }: DescribeOptions = {},
): string {
  return issues
    .map((i) => {
      const key = formatKey(i.path, style, prefix) || '(top level)';
      return `${file}: ${key}: ${i.message.replace(/^Invalid input: /, '')}`;
    })
    .join('\n');
}
