// Types of bench/village-processes.mjs, for the tests that reuse its cloud config writer.
import type { ChildProcess } from 'node:child_process';

export const CLOUD: string;
export const EDGE: string;
export function freePort(): Promise<number>;
export function writeOneStationCloud(
  dir: string,
  options: {
    mqttPort: number;
    password?: string;
    edges?: { id: string; passwordHash: string }[];
    extra?: Record<string, unknown>;
  },
): string;
export function startBin(
  bin: string,
  cfg: string,
  readyMsg: string,
  flags?: string[],
): { child: ChildProcess; ready: Promise<Record<string, unknown>>; logged: Map<string, number> };
export function stopAll(): Promise<void>;
export function peakRssMb(pid: number): number;
