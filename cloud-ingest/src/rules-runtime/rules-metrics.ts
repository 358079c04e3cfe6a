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
    /** outcome: done | refused (the command's typed error) | standby (no holder answered) | unanswered (accepted, no answer in time) */
    commandsForwarded: new Counter({
      name: 'cloud_rules_commands_forwarded_total',
      help: "Officers' incident commands this host queued for the village's holder on another host, by outcome",
      labelNames: ['outcome'],
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
