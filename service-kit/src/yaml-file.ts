import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';

/**
 * Reads a YAML config file into plain data. Throws ConfigError `label: cannot read: ...` or
 * `label: not valid YAML: ...`, where label is the file's name as the bin's messages give it.
 */
export function readYamlFile(path: string, label: string = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}: cannot read: ${(err as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`${label}: not valid YAML: ${doc.errors[0]!.message}`);
  return doc.toJS();
}
