import type { z } from 'zod';

/** Formats zod issues as `file: key.path: problem` lines, so the message names the key. */
export function describeIssues(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const key = i.path.length === 0 ? '(top level)' : i.path.map(String).join('.');
      return `${file}: ${key}: ${i.message.replace(/^Invalid input: /, '')}`;
    })
    .join('\n');
}
