import { DEFAULT_TABLE_OPTIONS, type FlowTableOptions } from '../flow/table.ts';

/** The flow timeouts a model's training flows were cut with, as its manifest records them (seconds). */
export interface MeterTimeouts {
  idleTimeoutS?: number;
  activeTimeoutS?: number;
}

const s = (us: number) => `${us / 1e6} s`;
const describe = (t: { idleTimeoutUs: number; activeTimeoutUs: number }) => `idle ${s(t.idleTimeoutUs)}, active ${s(t.activeTimeoutUs)}`;

/**
 * The one rule for the flow timeouts a capture is metered with before models are applied to its flows:
 * the user's (given on the command line) win; else the ones the models record (their training flows were cut
 * that way), the first recording model's when they differ; else the meter's defaults. Every model then metered
 * otherwise than it was trained (another model's timeouts, the user's, or a model that records none metered with
 * another's) is named in a warning: one metering cannot match them all, and a long flow cut at another timeout
 * is several flows to one model and one to another.
 */
export function chooseTimeouts(
  models: readonly { name: string; meter?: MeterTimeouts | undefined }[],
  user: Partial<Pick<FlowTableOptions, 'idleTimeoutUs' | 'activeTimeoutUs'>> = {},
): { table: Partial<FlowTableOptions>; warnings: string[] } {
  const records = models.filter((m) => m.meter && (m.meter.idleTimeoutS || m.meter.activeTimeoutS));
  const from = records[0];
  const table: Partial<FlowTableOptions> = {};
  if (from?.meter?.idleTimeoutS) table.idleTimeoutUs = from.meter.idleTimeoutS * 1e6;
  if (from?.meter?.activeTimeoutS) table.activeTimeoutUs = from.meter.activeTimeoutS * 1e6;
  if (user.idleTimeoutUs !== undefined) table.idleTimeoutUs = user.idleTimeoutUs;
  if (user.activeTimeoutUs !== undefined) table.activeTimeoutUs = user.activeTimeoutUs;
  const used = { idleTimeoutUs: table.idleTimeoutUs ?? DEFAULT_TABLE_OPTIONS.idleTimeoutUs, activeTimeoutUs: table.activeTimeoutUs ?? DEFAULT_TABLE_OPTIONS.activeTimeoutUs };
  const why = user.idleTimeoutUs !== undefined || user.activeTimeoutUs !== undefined ? 'as asked' : from ? `as model '${from.name}' records` : 'the defaults';
  const warnings: string[] = [];
  if (!records.length && user.idleTimeoutUs === undefined && user.activeTimeoutUs === undefined) return { table, warnings };
  for (const m of models) {
    const t = m.meter;
    if (!t || !(t.idleTimeoutS || t.activeTimeoutS)) {
      if (records.length && m !== from) {
        warnings.push(`model '${m.name}' records no flow timeouts; its flows are metered with ${describe(used)} (${why}): retrain it with --meter-idle-timeout/--meter-active-timeout to record the ones its training flows were cut with, or give --idle-timeout/--active-timeout`);
      }
      continue;
    }
    const idle = t.idleTimeoutS ? t.idleTimeoutS * 1e6 : DEFAULT_TABLE_OPTIONS.idleTimeoutUs;
    const active = t.activeTimeoutS ? t.activeTimeoutS * 1e6 : DEFAULT_TABLE_OPTIONS.activeTimeoutUs;
    if (idle !== used.idleTimeoutUs || active !== used.activeTimeoutUs) {
      warnings.push(`model '${m.name}' was trained on flows cut at ${describe({ idleTimeoutUs: idle, activeTimeoutUs: active })} but the capture is metered with ${describe(used)} (${why}); its answers on longer flows may be off`);
    }
  }
  return { table, warnings };
}
