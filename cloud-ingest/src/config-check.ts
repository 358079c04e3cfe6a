import { basename } from 'node:path';
import { ConfigError } from '@village/service-kit';
import type { CloudConfig } from './config.js';
import { loadHttpTls } from './http/http-tls.js';
import { checkLabModeAddress } from './http/lab-mode-check.js';
import { EMPTY_REGISTRY, type RegistryFile, loadRegistry } from './registry-file.js';
import { compileRulesSetup } from './rules-runtime/rules-from-registry.js';
import { checkStoreCombination } from './store/store-config.js';

/**
 * Everything about a parsed cloud config that needs more than its own schema: the registry file
 * it names, users' places in that registry, and the rules compiled against it. A start and
 * `village-cloud --check` both run this, so they find the same problems. Throws ConfigError
 * naming the config file (as given with --config) and the key.
 */
export function checkCloudConfig(config: CloudConfig): RegistryFile {
  const file = config.configFile;
  checkLabModeAddress(config, file);
  checkStoreCombination(config, file);
  loadHttpTls(config);
  const registry = config.registry === undefined ? EMPTY_REGISTRY : loadRegistry(config.registry);
  const registryName = config.registry === undefined ? 'the registry' : basename(config.registry);
  const ids = { county: new Set<string>(), town: new Set<string>(), village: new Set<string>() };
  for (const c of registry.counties) {
    ids.county.add(c.id);
    for (const t of c.towns) {
      ids.town.add(t.id);
      for (const v of t.villages) ids.village.add(v.id);
    }
  }
  (config.users ?? []).forEach((u, i) => {
    if (u.role !== 'admin' && !ids[u.role].has(u.place!)) {
      throw new ConfigError(`${file}: users.${i}.place: no ${u.role} ${u.place} in ${registryName}`);
    }
  });
  if (config.rules.enabled) compileRulesSetup(config.rules, registry, file);
  return registry;
}
