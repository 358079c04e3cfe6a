import { type BuildInfo, versionLine as lineOf, readBuildInfo } from '@village/service-kit';

/** This package's build (version from its package.json, git commit): @village/service-kit reads it. */
export const BUILD_INFO: BuildInfo = readBuildInfo(new URL('../', import.meta.url));

export const versionLine = (bin: string) => lineOf(bin, BUILD_INFO);
