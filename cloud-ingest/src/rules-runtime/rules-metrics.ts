import { Counter, type Registry } from 'prom-client';

/** Prometheus series of the rules runtime, registered on the cloud's registry. */
export function createRulesMetrics(registry: Registry) {
  const registers = [registry];
  return {
    /** kind: reading | event | replayed_event (fed again after a crash) */
    inputs: new Counter({
      name: 'cloud_rules_inputs_total',
      help: 'Readings and events fed to the rules engine',
      labelNames: ['kind'],
      registers,
    }),
    /** reason: the engine's RejectReason (unknown_device, bad_quality, wrong_value_type, ...) */
    rejected: new Counter({
      name: 'cloud_rules_inputs_rejected_total',
      help: 'Inputs the rules engine could not use, by reason',
      labelNames: ['reason'],
      registers,
    }),
    /** type: the engine output type (alert-raised, incident-escalated, notify, ...) */
    outputs: new Counter({
      name: 'cloud_rules_outputs_total',
      help: 'Rules engine outputs, by type',
      labelNames: ['type'],
      registers,
    }),
    persists: new Counter({
      name: 'cloud_rules_state_writes_total',
      help: 'Transactions writing the rules state',
      registers,
    }),
    /** Several hosts: partitions this host gave up to a host with less (partitioned-rules.ts). */
    handovers: new Counter({
      name: 'cloud_rules_partition_handovers_total',
      help: 'Rules partitions this host handed over to balance the partitions across hosts',
      registers,
    }),
  };
}

export type RulesMetrics = ReturnType<typeof createRulesMetrics>;
