import { DEVICE_EVENT_QUIET_MS_DEFAULT, INCIDENT_DEFAULTS } from '@village/rules';
import { ConfigError } from '@village/service-kit';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { parseRegistry } from '../src/registry-file.js';

const HASH = hashPassword('pw');

describe('cloud.yaml schema', () => {
  const error = (raw: unknown) => {
    try {
      parseConfig(raw, '/srv/cloud');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('names a reading-time window key that is wrong (ingest.minTimestamp, ingest.maxClockSkewMs)', () => {
    expect(error({ ingest: { minTimestamp: 'soon' } })).toMatch(/ingest\.minTimestamp/);
    expect(error({ ingest: { maxClockSkewMs: -1 } })).toMatch(/ingest\.maxClockSkewMs/);
    const c = parseConfig({ ingest: { minTimestamp: '2021-06-01', maxClockSkewMs: 60_000 } }, '/srv/cloud');
    expect(c.ingest).toMatchObject({ minTimestamp: '2021-06-01', maxClockSkewMs: 60_000 });
  });

  it('fills defaults and resolves paths against the config folder', () => {
    const c = parseConfig(
      { registry: 'reg/registry.yaml', edges: [{ id: 'edge-1', passwordHash: HASH }] },
      '/srv/cloud',
    );
    // Each section has its own schema test; here only what a minimal file must get by default.
    expect(c).toMatchObject({
      dataDir: '/srv/cloud/data',
      registry: '/srv/cloud/reg/registry.yaml',
      mqtt: { mode: 'embedded', host: '127.0.0.1', port: 1883, maxPacketBytes: 1024 * 1024 + 64 * 1024 },
      http: { host: '127.0.0.1', port: 8080 },
      edges: [{ id: 'edge-1', passwordHash: HASH }],
      log: { level: 'info' },
      sink: { kind: 'sqlite' },
      rules: { enabled: true, incidents: { ackDeadlineMs: 180_000, levels: ['village', 'town', 'county'] } },
    });
    expect(c.users).toBeUndefined(); // no users: logins off (lab and demo mode)
  });

  it('names the key and the problem', () => {
    expect(error({ mqtt: { port: '1883' } })).toBe('cloud.yaml: mqtt.port: expected number, received string');
    expect(error({ http: { port: 70000 } })).toMatch(/^cloud\.yaml: http\.port: .*65535/);
    expect(error({ mqtt: { prot: 1 } })).toMatch(/^cloud\.yaml: mqtt: Unrecognized key: "prot"/);
    expect(error({ edges: [{ id: 'edge-1', passwordHash: 'hunter2' }] })).toMatch(
      /^cloud\.yaml: edges\.0\.passwordHash: must be a hash printed by `village-cloud new-edge-secret` \(sha256\$hex\) or `hash-password`/,
    );
    expect(error({ edges: [{ id: 'edge/1', passwordHash: HASH }] })).toMatch(
      /^cloud\.yaml: edges\.0\.id: must be a valid edge id/,
    );
    expect(
      error({
        edges: [
          { id: 'e', passwordHash: HASH },
          { id: 'e', passwordHash: HASH },
        ],
      }),
    ).toBe('cloud.yaml: edges: edge ids must be unique');
    expect(error({ log: { level: 'loud' } })).toMatch(/^cloud\.yaml: log\.level: /);
    expect(error('just a string')).toMatch(/^cloud\.yaml: \(top level\): expected object/);
  });
});

describe('cloud.yaml rules section', () => {
  const rulesOf = (raw: unknown) => parseConfig({ rules: raw }, '/srv/cloud').rules;

  // One source of truth: the keys, bounds and defaults are the rules library's (issue 19); the
  // cloud's copy once filled only four of the incident defaults the engine applies.
  it('fills every incident default the rules engine applies, from the rules library', () => {
    const { lifeSafetyRules: _l, idPrefix: _p, ...cloudSettable } = INCIDENT_DEFAULTS;
    expect(rulesOf({}).incidents).toEqual(cloudSettable);
    expect(rulesOf({}).deviceEventQuietMs).toBe(DEVICE_EVENT_QUIET_MS_DEFAULT);
  });

  it('keeps the documented key ackDeadlineMs and refuses what the cloud does not set', () => {
    expect(rulesOf({ incidents: { ackDeadlineMs: 60_000 } }).incidents.ackDeadlineMs).toBe(60_000);
    const error = (raw: unknown) => {
      try {
        rulesOf(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(error({ incidents: { ackTimeoutMs: 60_000 } })).toMatch(
      /^cloud\.yaml: rules\.incidents: Unrecognized key/,
    );
    expect(error({ incidents: { idPrefix: 'x-' } })).toMatch(
      /^cloud\.yaml: rules\.incidents: Unrecognized key/,
    );
    expect(error({ incidents: { levels: ['village', 'province'] } })).toMatch(
      /^cloud\.yaml: rules\.incidents\.levels\.1: /,
    );
    expect(error({ elderCare: { batteryLowPct: 120 } })).toMatch(
      /^cloud\.yaml: rules\.elderCare\.batteryLowPct: /,
    );
    expect(error({ thresholds: [{ id: 't', metric: 'pm25' }] })).toMatch(
      /^cloud\.yaml: rules\.thresholds\.0\.level: /,
    );
  });
});

describe('registry.yaml schema', () => {
  const station = (id: string, edges: string[]) => ({ id, name: id, edges });
  const tree = (stations: unknown[]) => ({
    counties: [
      { id: 'c', name: 'c', towns: [{ id: 't', name: 't', villages: [{ id: 'v', name: 'v', stations }] }] },
    ],
  });

  it('accepts the documented shape', () => {
    const r = parseRegistry({
      ...tree([station('s1', ['edge-1'])]),
      people: [{ id: 'p1', name: '张三', station: 's1', heartRate: [50, 110] }],
      devices: [{ id: 'pm-1', edge: 'edge-1', kind: 'air-quality', driver: 'modbus' }],
    });
    expect(r.people[0]).toMatchObject({ livesAlone: false, heartRate: [50, 110] });
  });

  it('names the key of each problem', () => {
    const msg = (raw: unknown) => {
      try {
        parseRegistry(raw);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    expect(msg({ ...tree([station('s1', [])]), people: [{ id: 'p1', name: 'x', station: 's9' }] })).toBe(
      'registry.yaml: people.0.station: unknown station s9',
    );
    expect(msg(tree([station('s1', ['e1']), station('s2', ['e1'])]))).toBe(
      'registry.yaml: counties.0.towns.0.villages.0.stations.1.edges.0: edge e1 is already at station s1',
    );
    expect(
      msg({ ...tree([station('s1', [])]), people: [{ id: 'p', name: 'x', station: 's1', spo2: [100, 90] }] }),
    ).toMatch(/^registry\.yaml: people\.0\.spo2: must be \[low, high\]/);
  });
});
