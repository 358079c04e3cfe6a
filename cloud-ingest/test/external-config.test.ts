import { ConfigError } from '@village/service-kit';
import { describe, expect, it } from 'vitest';
import { brokerClientIds, brokerLabel } from '../src/broker/external-config.js';
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

  it('takes mqtt.url as one broker or a list of them (always a list once parsed), with a client id per broker', () => {
    const one = parseConfig({ mqtt: { mode: 'external', url: 'mqtt://b:1884' } }, '/srv');
    expect(one.mqtt).toMatchObject({ url: ['mqtt://b:1884'] });
    const two = parseConfig(
      { mqtt: { mode: 'external', url: ['mqtt://a:1884', 'mqtts://b:8883'], clientId: 'w1' } },
      '/srv',
    );
    expect(two.mqtt).toMatchObject({ url: ['mqtt://a:1884', 'mqtts://b:8883'] });
    // One broker keeps the configured id (a worker upgraded from a single url keeps its session).
    expect(brokerClientIds('w1', ['mqtt://a'])).toEqual(['w1']);
    expect(brokerClientIds('w1', ['mqtt://a', 'mqtt://b'])).toEqual(['w1-b1', 'w1-b2']);
    expect(brokerLabel('mqtts://ingest:secret@b.example:8883/x?y=1')).toBe('mqtts://b.example:8883');
  });

  it('refuses a bad broker list naming the entry and the value: empty, not MQTT, not a URL, twice, not strings', () => {
    const bad = (url: unknown) => () => parseConfig({ mqtt: { mode: 'external', url } }, '/srv');
    expect(bad([])).toThrow(/cloud\.yaml: mqtt\.url: must name at least one broker URL/);
    expect(bad(['mqtt://a:1884', 'http://b:80'])).toThrow(
      /cloud\.yaml: mqtt\.url\.1: "http:\/\/b:80" is not an MQTT URL/,
    );
    expect(bad(['mqtt://a:1884', 'broker-b'])).toThrow(/mqtt\.url\.1: "broker-b" is not a URL/);
    expect(bad('broker-b')).toThrow(/mqtt\.url: "broker-b" is not a URL/);
    expect(bad(['mqtt://a:1884', 'mqtt://a:1884'])).toThrow(
      /mqtt\.url\.1: "mqtt:\/\/a:1884" is listed twice/,
    );
    expect(bad(1884)).toThrow(/mqtt\.url: must be a broker URL \(mqtt:\/\/host:port\) or a list of them/);
    expect(bad(['mqtt://a:1884', 7])).toThrow(ConfigError);
  });
});
