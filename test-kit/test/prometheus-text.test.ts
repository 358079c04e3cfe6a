import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../src/prometheus-text.js';

describe('parsePrometheusText', () => {
  it('maps each sample line to its value by name and labels, skipping comments', () => {
    const m = parsePrometheusText(
      [
        '# HELP cloud_batches_total Batches.',
        '# TYPE cloud_batches_total counter',
        'cloud_batches_total{result="committed",edge="e 1"} 12',
        'edge_outbox_depth_readings 0',
        '',
      ].join('\n'),
    );
    expect([...m]).toEqual([
      ['cloud_batches_total{result="committed",edge="e 1"}', 12],
      ['edge_outbox_depth_readings', 0],
    ]);
  });
});
