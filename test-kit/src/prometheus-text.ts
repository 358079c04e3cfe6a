/**
 * Prometheus text exposition → `name{labels}` → value, one entry a sample line (comments and
 * blank lines skipped). The key is the line up to its last space, labels as written.
 */
export function parsePrometheusText(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** GETs a /metrics URL and parses it (`init` for a cookie or bearer token). */
export async function fetchMetrics(url: string, init?: RequestInit): Promise<Map<string, number>> {
  return parsePrometheusText(await (await fetch(url, init)).text());
}
