import { z } from 'zod';

/**
 * The security keys of cloud.yaml `http:` (docs/security.md): HTTPS files, the host and origin
 * allow-lists of the browser guards, and the hash of the Prometheus bearer token.
 */
export const httpTlsSchema = z
  .strictObject({
    /** PEM certificate, leaf first, then any intermediates. */
    cert: z.string().min(1),
    /** PEM private key of that certificate. */
    key: z.string().min(1),
  })
  .optional();

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

export const allowedHostsSchema = z
  .array(z.string().regex(HOST_NAME, 'must be a host name without port or scheme, e.g. cloud.example.cn'))
  .default([]);

export const allowedOriginsSchema = z
  .array(
    z
      .string()
      .regex(
        /^https?:\/\/[A-Za-z0-9.[\]:-]+$/,
        'must be an origin: scheme://host[:port], no path, e.g. https://ops.example.cn',
      ),
  )
  .default([]);

export const metricsTokenHashSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the token as 64 lowercase hex digits (sha256sum)')
  .optional();
