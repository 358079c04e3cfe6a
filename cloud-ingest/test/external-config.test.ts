import { ConfigError } from '@village/service-kit';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';

describe('cloud.yaml: mqtt.mode external, sink influx, ingest test knob', () => {
  it('keeps the embedded broker and SQLite sink when the sections are left out', () => {
    const c = parseConfig({}, '/srv');
    expect(c.mqtt.mode).toBe('embedded');
    expect(c.sink).toEqual({ kind: 'sqlite' });
    expect(c.ingest).toEqual({
      testDelayMs: 0,
      testDelayForMs: 0,
      maxClockSkewMs: 300_000,
      minTimestamp: '2020-01-01',
    });
  });

  it('reads an external broker with the password from ${ENV}, and an influx sink with documented defaults', () => {
    const c = parseConfig(
      {
        mqtt: { mode: 'external', url: 'mqtt://b:1883', clientId: 'w1' },
        sink: { kind: 'influx', url: 'http://i:8086', api: 'v1' },
      },
      '/srv',
    );
    process.env.TEST_BROKER_PW = 's3cret';
    const withEnv = parseConfig(
      {
        mqtt: { mode: 'external', url: 'mqtt://b:1883', password: '${TEST_BROKER_PW}' },
      },
      '/srv',
    );
    expect(withEnv.mqtt).toMatchObject({
      mode: 'external',
      password: 's3cret',
      group: 'ingest',
      username: 'ingest',
    });
    expect(c.sink).toMatchObject({
      kind: 'influx',
      api: 'v1',
      database: 'village',
      linesPerRequest: 5000,
      maxRetries: 10,
    });
  });

  it('refuses an unset ${ENV}, an unknown sink kind and embedded keys in external mode, naming the key', () => {
    Reflect.deleteProperty(process.env, 'TEST_UNSET_PW');
    const bad = (raw: unknown) => () => parseConfig(raw, '/srv');
    expect(bad({ mqtt: { mode: 'external', url: 'mqtt://b', password: '${TEST_UNSET_PW}' } })).toThrow(
      /mqtt\.password.*TEST_UNSET_PW is not set/,
    );
    expect(bad({ sink: { kind: 'cassandra' } })).toThrow(ConfigError);
    expect(bad({ mqtt: { mode: 'external', url: 'mqtt://b', port: 1883 } })).toThrow(/mqtt/);
    expect(bad({ sink: { kind: 'influx', url: 'not a url' } })).toThrow(/sink\.url/);
    expect(bad({ ingest: { testDelayMs: -1 } })).toThrow(/ingest\.testDelayMs/);
  });
});
