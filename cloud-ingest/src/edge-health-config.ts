import { z } from 'zod';

/** `edgeHealth:` in cloud.yaml: when an edge's state report raises an alert (ingest/edge-report-ingest.ts). */
export const edgeHealthSchema = z
  .strictObject({
    /** Alert when an edge's oldest unsent reading is older than this, seconds (default 15 min). */
    backlogAlertS: z
      .number()
      .positive()
      .max(30 * 86_400)
      .default(900),
    /** Alert when the free share of an edge's data disk falls below this (default 5 %). */
    diskFreeAlertRatio: z.number().min(0).max(1).default(0.05),
  })
  .prefault({});
