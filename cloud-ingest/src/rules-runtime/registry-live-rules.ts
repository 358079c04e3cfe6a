import type { RegistryFile } from '../registry-file.js';
import type { RulesSection } from './rules-config.js';
import { type RulesSetup, compileRulesSetup } from './rules-from-registry.js';

/**
 * Gives a running rules runtime the registry as an admin changed it, without a restart. The
 * runtime holds its setup and compiled rules by reference, so they are updated in place: places
 * and edge stations, people (and who wears which band), names for notifications. Devices the
 * runtime learned from batches are forgotten and learned again from the next batch, at the place
 * their edge now has (a moved edge's sensors count for their new village from then on). Engine
 * state (open alerts, incidents, timers) is kept. Throws ConfigError if the rules refuse it.
 */
export function applyRegistryToRules(setup: RulesSetup, section: RulesSection, registry: RegistryFile): void {
  const next = compileRulesSetup(section, registry);
  setup.places.clear();
  for (const [k, v] of next.places) setup.places.set(k, v);
  setup.edgeStations.clear();
  for (const [k, v] of next.edgeStations) setup.edgeStations.set(k, v);
  setup.displayName = next.displayName;
  Object.assign(setup.rules, next.rules);
}
