import { z } from 'zod/mini';
import { QUALITIES, type Quality, SEVERITIES, type Severity, type Value } from '../types.js';

/** The wire contract's value, quality and severity (types.ts) as schemas for the HTTP API. */
export const valueSchema = z.union([z.number(), z.boolean(), z.string()]) satisfies z.ZodMiniType<Value>;
export const qualitySchema = z.enum(QUALITIES as [Quality, ...Quality[]]);
export const severitySchema = z.enum(SEVERITIES as [Severity, ...Severity[]]);
/** ms since the Unix epoch. */
export const msEpoch = z.number();
