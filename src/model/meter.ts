import type { FlowTableOptions } from '../flow/table.ts';

export interface MeterTimeouts {
  idleTimeoutS?: number;
  activeTimeoutS?: number;
}

/**
 * The flow timeouts to meter a capture with before applying these models: the ones their manifests record (the
 * timeouts their training flows were cut with). Models that record different ones cannot all be matched by one
 * metering: the first model's settings win and `conflict` says so.
 */
export function meterTimeoutsFor(models: readonly (MeterTimeouts | undefined)[]): { table: Partial<FlowTableOptions>; conflict: boolean; from: MeterTimeouts | null } {
  const set = models.filter((m): m is MeterTimeouts => Boolean(m && (m.idleTimeoutS || m.activeTimeoutS)));
  const from = set[0] ?? null;
  const conflict = set.some((m) => m.idleTimeoutS !== from!.idleTimeoutS || m.activeTimeoutS !== from!.activeTimeoutS);
  const table: Partial<FlowTableOptions> = {};
  if (from?.idleTimeoutS) table.idleTimeoutUs = from.idleTimeoutS * 1e6;
  if (from?.activeTimeoutS) table.activeTimeoutUs = from.activeTimeoutS * 1e6;
  return { table, conflict, from };
}
