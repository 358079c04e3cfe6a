import {
  type BuildInfo,
  versionLine as lineOf,
  readBuildInfo,
  registerBuildInfo as registerBuild,
} from '@village/service-kit';
import type { Registry } from 'prom-client';

/** This package's build (version from its package.json, git commit): @village/service-kit reads it. */
export const BUILD_INFO: BuildInfo = readBuildInfo(new URL('../', import.meta.url));

export const versionLine = (bin: string) => lineOf(bin, BUILD_INFO);

export const registerBuildInfo = (registry: Registry) => registerBuild(registry, BUILD_INFO);
