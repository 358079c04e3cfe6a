// Latency figures the benches print, computed one way.

/** The p-quantile (0..1) of `values` (nearest rank, no interpolation); undefined when empty. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Runs `calls` one after the other; ms per call: count, p50, p99 and mean, to 3 decimals. */
export async function timed(calls) {
  const ms = [];
  for (const call of calls) {
    const t0 = performance.now();
    await call();
    ms.push(performance.now() - t0);
  }
  const round = (v) => Number(v.toFixed(3));
  return {
    calls: ms.length,
    p50Ms: round(percentile(ms, 0.5)),
    p99Ms: round(percentile(ms, 0.99)),
    meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length),
  };
}
