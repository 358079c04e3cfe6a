#!/usr/bin/env node
// Runs every workspace's tests through turbo, then prints one totals line that CI records:
// "N passed, N failed, N skipped". Exit code 0 only when every test and the lint check pass.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// A machine missing a program the tests start would fail dozens of tests with ENOENT: say what to install instead.
const deps = spawnSync(process.execPath, [join(import.meta.dirname, 'check-test-deps.mjs')], {
  stdio: 'inherit',
});
if (deps.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const results = join(import.meta.dirname, '..', '.test-results');
rmSync(results, { recursive: true, force: true });

// The whole tree must pass the linter and formatter; that counts as one check.
const lint = spawnSync('npx', ['biome', 'check', '.'], { stdio: 'inherit' });

const run = spawnSync(
  'npx',
  ['turbo', 'run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
const failures = [];
if (existsSync(results)) {
  for (const f of readdirSync(results).filter((f) => f.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(results, f), 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    // A suite that failed to load counts as a failure even when it reported no test.
    failed += (r.testResults ?? []).filter(
      (s) => s.status === 'failed' && s.assertionResults.length === 0,
    ).length;
    // Name every failure here, at the end: CI keeps only the last lines of the log, and a flaky test
    // that failed early in the run would otherwise leave nothing but a count.
    for (const s of r.testResults ?? []) {
      const file = s.name.slice(s.name.indexOf(f.replace('.json', '')));
      if (s.status === 'failed' && s.assertionResults.length === 0) failures.push(`${file}: ${s.message}`);
      for (const a of s.assertionResults) {
        if (a.status === 'failed')
          failures.push(`${file} > ${a.fullName}: ${(a.failureMessages ?? [])[0] ?? ''}`);
      }
    }
  }
}
for (const f of failures) console.log(`FAILED ${f.split('\n')[0].slice(0, 400)}`);
if (run.status !== 0 && failed === 0) missing.push('turbo failed outside any test (build or load error)');
if (lint.status === 0) passed++;
else missing.push('biome check failed (run `npm run format`, then fix what it reports)');
for (const m of missing) console.log(m);
console.log(`${passed} passed, ${failed + missing.length} failed, ${skipped} skipped`);
process.exit(run.status === 0 && lint.status === 0 ? 0 : 1);
