import { ConfigError } from '@village/service-kit';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';

describe('cloud.yaml mqtt.limits and mqtt.tls', () => {
  const error = (raw: unknown) => {
    try {
      parseConfig(raw, '/srv/cloud');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('fills the documented limit defaults and resolves TLS paths against the config folder', () => {
    const c = parseConfig(
      { mqtt: { tls: { cert: 'tls/b.crt', key: '/etc/b.key', ca: 'ca.crt' } } },
      '/srv/cloud',
    );
    expect(c.mqtt).toMatchObject({
      limits: {
        maxConnections: 2000,
        maxSessionsPerEdge: 4,
        connectDeadlineMs: 10_000,
        maxConnectBytes: 4096,
      },
      tls: {
        port: 8883,
        cert: '/srv/cloud/tls/b.crt',
        key: '/etc/b.key',
        ca: '/srv/cloud/ca.crt',
        requireClientCert: false,
      },
    });
  });

  it('names the key of a bad limit or TLS setting', () => {
    expect(error({ mqtt: { limits: { maxSessionsPerEdge: 0 } } })).toMatch(
      /^cloud\.yaml: mqtt\.limits\.maxSessionsPerEdge: /,
    );
    expect(error({ mqtt: { tls: { cert: 'b.crt', key: 'b.key', requireClientCert: true } } })).toBe(
      'cloud.yaml: mqtt.tls.ca: ca is required when requireClientCert is true',
    );
    expect(error({ mqtt: { tls: { key: 'b.key' } } })).toMatch(/^cloud\.yaml: mqtt\.tls\.cert: /);
  });
});
