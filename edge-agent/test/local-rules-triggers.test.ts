import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEdgeConfig } from '../src/config.js';
import { DRIVER_KIND_NAMES, loadDriverKinds } from '../src/driver-kinds.js';
import { type LocalRuleConfig, localRulesSchema } from '../src/local-rules/local-rules-config.js';
import { createRuleTriggers } from '../src/local-rules/rule-triggers.js';

/** The pure half of edge-local rules: when a rule fires, and how edge.yaml's `localRules:` is checked. */
const SIREN_ON = { command: { device: 'siren-1', action: 'write', params: { point: 'siren', value: true } } };
const rules = (raw: unknown[]): LocalRuleConfig[] => localRulesSchema.parse(raw);
const pm = (value: number, ts: number, device = 'pm-1', quality: Reading['quality'] = 'good'): Reading => ({
  device,
  metric: 'pm2_5',
  value,
  unit: 'µg/m³',
  ts,
  quality,
});

describe('local rule triggers', () => {
  it('a pm2_5 value hovering on the line fires once, re-arms only after it clears, then fires again', () => {
    const t = createRuleTriggers(
      rules([{ id: 'pm', trigger: { metric: 'pm2_5', above: 250, clearBelow: 200 }, actions: [SIREN_ON] }]),
    );
    const hover = [251, 249, 252, 248, 260, 240, 251, 201, 255];
    const fired = hover.flatMap((v, i) => t.readings([pm(v, 1_000 * i)]));
    expect(fired.map((f) => [f.phase, f.cause])).toEqual([['raise', { metric: 'pm2_5', value: 251 }]]);
    // Below the clear level: re-armed (clear), and the next excursion raises again.
    expect(t.readings([pm(199, 20_000)]).map((f) => f.phase)).toEqual(['clear']);
    expect(t.readings([pm(251, 21_000)]).map((f) => f.phase)).toEqual(['raise']);
  });

  it('holds the value above the level for holdMs (reading time) before firing', () => {
    const t = createRuleTriggers(
      rules([
        {
          id: 'pm',
          trigger: { metric: 'pm2_5', above: 250, clearBelow: 200, holdMs: 60_000 },
          actions: [SIREN_ON],
        },
      ]),
    );
    expect(t.readings([pm(300, 0), pm(300, 30_000)])).toEqual([]);
    // A dip into the dead band before the hold restarts it (the library's held condition).
    expect(t.readings([pm(230, 40_000), pm(300, 50_000), pm(300, 100_000)])).toEqual([]);
    expect(t.readings([pm(300, 110_000)]).map((f) => f.phase)).toEqual(['raise']);
  });

  it('judges each device on its own, ignores other devices, bad readings and non-numbers', () => {
    const t = createRuleTriggers(
      rules([
        {
          id: 'pm',
          trigger: { metric: 'pm2_5', above: 250, devices: ['pm-1', 'pm-2'] },
          actions: [SIREN_ON],
        },
      ]),
    );
    const out = t.readings([
      pm(300, 1, 'pm-1'),
      pm(300, 1, 'pm-2'),
      pm(300, 1, 'pm-3'),
      pm(900, 2, 'pm-1', 'bad'),
      { ...pm(0, 3, 'pm-2'), value: 'E_SENSOR' },
    ]);
    expect(out.map((f) => f.device)).toEqual(['pm-1', 'pm-2']);
  });

  it('an event trigger fires once per cooldown per rule, only for its types and devices', () => {
    const t = createRuleTriggers(
      rules([
        {
          id: 'elder',
          trigger: { events: ['fall', 'sos'], devices: ['band-1'], cooldownMs: 60_000 },
          actions: [SIREN_ON],
        },
      ]),
    );
    const ev = (type: string, device = 'band-1') => ({
      device,
      type,
      severity: 'critical' as const,
      ts: 1,
      data: {},
    });
    expect(t.event(ev('sos'), 1_000)).toHaveLength(1);
    expect(t.event(ev('fall'), 2_000)).toEqual([]);
    expect(t.event(ev('sos'), 60_999)).toEqual([]);
    expect(t.event(ev('smoke'), 70_000)).toEqual([]);
    expect(t.event(ev('sos', 'band-2'), 70_000)).toEqual([]);
    expect(t.event(ev('fall'), 61_000).map((f) => [f.phase, f.cause])).toEqual([
      ['raise', { event: 'fall' }],
    ]);
  });

  it("cools down per rule and subject: a second person's SOS 30 s after someone else's fall fires", () => {
    const t = createRuleTriggers(
      rules([{ id: 'elder', trigger: { events: ['fall', 'sos'], cooldownMs: 60_000 }, actions: [SIREN_ON] }]),
    );
    const ev = (type: string, device: string) => ({
      device,
      type,
      severity: 'critical' as const,
      ts: 1,
      data: {},
    });
    expect(t.event(ev('fall', 'band-1'), 0)).toHaveLength(1);
    expect(t.event(ev('sos', 'band-2'), 30_000).map((f) => [f.device, f.cause])).toEqual([
      ['band-2', { event: 'sos' }],
    ]);
    // Each subject keeps its own cooldown.
    expect(t.event(ev('sos', 'band-1'), 40_000)).toEqual([]);
    expect(t.event(ev('sos', 'band-2'), 50_000)).toEqual([]);
    expect(t.event(ev('sos', 'band-1'), 60_000)).toHaveLength(1);
  });

  it('defaults the event cooldown to 60 s', () => {
    const t = createRuleTriggers(rules([{ id: 'sos', trigger: { events: ['sos'] }, actions: [SIREN_ON] }]));
    const sos = { device: 'b', type: 'sos', severity: 'critical' as const, ts: 1, data: {} };
    expect(t.event(sos, 0)).toHaveLength(1);
    expect(t.event(sos, 59_999)).toHaveLength(0);
    expect(t.event(sos, 60_000)).toHaveLength(1);
  });
});

describe('localRules in edge.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-local-rules-'));
  const load = async (localRules: string) => {
    const p = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      p,
      `edgeId: edge-1\ncloud: { url: 'mqtt://127.0.0.1:1', password: x }\nlocalRules:\n${localRules}`,
    );
    return loadEdgeConfig(p, await loadDriverKinds(DRIVER_KIND_NAMES));
  };
  const refused = async (localRules: string) => {
    try {
      await load(localRules);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('is optional and applies defaults to each action', async () => {
    const none = await load('  []\n');
    expect(none.localRules).toEqual([]);
    const cfg = await load(`  - id: sos
    trigger: { events: [sos] }
    actions:
      - command: { device: siren-1, action: write, params: { point: siren, value: true } }
      - webhook: { url: 'http://127.0.0.1:9/hook', secret: s }
`);
    expect(cfg.localRules[0]!.actions[0]).toMatchObject({
      maxAttempts: 3,
      backoffMs: 1_000,
      timeoutMs: 5_000,
    });
    expect(cfg.localRules[0]!.clearActions).toEqual([]);
  });

  it('refuses bad rules with the key and the problem', async () => {
    expect(
      await refused(`  - id: pm
    trigger: { metric: pm2_5, above: 250, clearBelow: 300 }
    actions: [{ webhook: { url: 'http://h/x' } }]
`),
    ).toMatch(/localRules\[0\]\.trigger\.clearBelow: must be at most above \(250\)/);
    expect(
      await refused(`  - id: x
    trigger: { events: [sos], metric: pm2_5 }
    actions: [{ webhook: { url: 'http://h/x' } }]
`),
    ).toMatch(/localRules\[0\]\.trigger\.events: give exactly one of events/);
    expect(
      await refused(`  - id: x
    trigger: { events: [sos] }
    actions: [{ webhook: { url: 'ftp://h/x' } }]
`),
    ).toMatch(/localRules\[0\]\.actions\[0\]\.webhook\.url: must be an http/);
    expect(
      await refused(`  - id: x
    trigger: { events: [sos] }
    actions: [{ command: { device: s, action: write }, webhook: { url: 'http://h/x' } }]
`),
    ).toMatch(/localRules\[0\]\.actions\[0\]: give exactly one of command or webhook/);
    expect(
      await refused(`  - id: x
    trigger: { events: [sos] }
    actions: [{ webhook: { url: 'http://h/x' } }]
  - id: x
    trigger: { events: [fall] }
    actions: [{ webhook: { url: 'http://h/x' } }]
`),
    ).toMatch(/localRules\[1\]\.id: duplicate local rule id x/);
    expect(
      await refused(`  - id: x
    trigger: { events: [sos] }
    actions: [{ webhook: { url: 'http://h/x' } }]
    clearActions: [{ webhook: { url: 'http://h/x' } }]
`),
    ).toMatch(/localRules\[0\]\.clearActions: only a metric trigger clears/);
  });
});
