import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Scenario, scenarioSchema } from './scenario-schema.js';

/** A scenario file that could not be read or does not fit the schema; the message names the key. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)),
    '',
  );
}

function describe(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${file}: ${keyPath(i.path) || '(top)'}: ${i.message}`).join('\n');
}

/** Validates a parsed scenario object. Throws ScenarioError naming `file` and the key. */
export function parseScenario(raw: unknown, file = 'scenario.yaml'): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) throw new ScenarioError(describe(file, r.error.issues));
  return r.data;
}

/** Reads and validates a scenario YAML file. */
export function loadScenario(path: string): Scenario {
  const file = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  return parseScenario(raw, file);
}
