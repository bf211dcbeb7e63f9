import { ModelError, ModelErrorCode } from '../errors.ts';
import type { InputPlan, NnArchitecture, NnInputKind, NnParams } from './spec.ts';

/**
 * Model inputs to network inputs: each flow becomes a [steps x channels] grid. The early-packet sequence gives
 * N steps of (size, direction, log gap); the feature vector gives F steps of one channel (the MLP flattens either).
 * Values are standardised with a mean and scale fitted on training rows only and stored in the model.
 */
const SEQ = /^seq_(len|dir|gap)_(\d+)(_us)?$/;
const CHANNELS = [
  { family: 'len', name: 'size', log: false },
  { family: 'dir', name: 'direction', log: false },
  { family: 'gap', name: 'log gap', log: true },
] as const;

function seqPart(name: string): { family: string; step: number } | null {
  const m = SEQ.exec(name);
  if (!m) return null;
  if ((m[1] === 'gap') !== (m[3] === '_us')) return null;
  return { family: m[1]!, step: Number(m[2]) };
}

/** The early-packet sequence columns among `names` (seq_len_i, seq_dir_i, seq_gap_i_us), in their order. */
export function sequenceColumns(names: readonly string[]): string[] {
  return names.filter((n) => seqPart(n) !== null);
}

/** The input kind an architecture uses on these columns when asked for 'auto': the sequence when they are one. */
export function resolveInputKind(arch: NnArchitecture, asked: NnParams['input'], names: readonly string[]): NnInputKind {
  if (asked !== 'auto') return asked;
  return arch !== 'mlp' && names.length > 0 && sequenceColumns(names).length === names.length ? 'sequence' : 'features';
}

/** Where each model input goes in the grid. Throws when a sequence input is asked of columns that are not one. */
export function planInput(names: readonly string[], kind: NnInputKind, scaling: NnParams['scaling']): InputPlan {
  if (kind === 'features') {
    return {
      kind, steps: names.length, channels: 1, channelNames: ['value'],
      cell: names.map((_, f) => f), log: names.map(() => scaling === 'log-standard'),
    };
  }
  const parts = names.map(seqPart);
  const other = names.filter((_, f) => parts[f] === null);
  if (other.length || !names.length) {
    throw new ModelError(
      ModelErrorCode.BAD_TRAINING,
      names.length
        ? `a sequence input takes only early-packet sequence columns (seq_len_i, seq_dir_i, seq_gap_i_us); also given: ${other.slice(0, 8).join(', ')}${other.length > 8 ? ', ...' : ''}`
        : 'a sequence input needs the early-packet sequence columns (seq_len_i, seq_dir_i, seq_gap_i_us; `veil extract --features sequence`)',
    );
  }
  const present = CHANNELS.filter((c) => parts.some((p) => p!.family === c.family));
  const steps = Math.max(...parts.map((p) => p!.step));
  const channels = present.length;
  return {
    kind, steps, channels, channelNames: present.map((c) => c.name),
    cell: parts.map((p) => (p!.step - 1) * channels + present.findIndex((c) => c.family === p!.family)),
    log: parts.map((p) => CHANNELS.find((c) => c.family === p!.family)!.log),
  };
}

const slog = (v: number): number => (v < 0 ? -Math.log1p(-v) : Math.log1p(v));

/**
 * Mean and scale per model input, over the given rows (missing values ignored). A sequence shares one mean and
 * scale per channel across its steps, so a pattern means the same at packet 2 as at packet 12.
 */
export function fitScaling(plan: InputPlan, columns: readonly Float64Array[], rows: Int32Array): { mean: Float64Array; scale: Float64Array } {
  const F = columns.length;
  const group = plan.kind === 'sequence' ? plan.cell.map((c) => c % plan.channels) : plan.cell.map((_, f) => f);
  const G = plan.kind === 'sequence' ? plan.channels : F;
  const n = new Float64Array(G), s = new Float64Array(G), ss = new Float64Array(G);
  for (let f = 0; f < F; f++) {
    const col = columns[f]!;
    const g = group[f]!;
    const lg = plan.log[f]!;
    // Two-pass per column would be more exact; sums in float64 over < 10^7 values are enough for scaling.
    for (let i = 0; i < rows.length; i++) {
      let v = col[rows[i]!]!;
      if (Number.isNaN(v)) continue;
      if (lg) v = slog(v);
      n[g]!++; s[g]! += v; ss[g]! += v * v;
    }
  }
  const mean = new Float64Array(F), scale = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    const g = group[f]!;
    const m = n[g]! ? s[g]! / n[g]! : 0;
    const v = n[g]! ? Math.max(0, ss[g]! / n[g]! - m * m) : 0;
    mean[f] = Number.isFinite(m) ? m : 0;
    scale[f] = v > 1e-24 && Number.isFinite(v) ? 1 / Math.sqrt(v) : 1;
  }
  return { mean, scale };
}

/**
 * The input grids of the given rows (default all), row-major [rows, steps * channels], float32. Missing values
 * and cells no input fills are 0 (the training mean).
 */
export function inputGrid(
  plan: InputPlan, mean: Float64Array, scale: Float64Array, columns: readonly Float64Array[], rows?: Int32Array,
): Float32Array {
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const width = plan.steps * plan.channels;
  const out = new Float32Array(n * width);
  for (let f = 0; f < columns.length; f++) {
    const col = columns[f]!;
    const cell = plan.cell[f]!, lg = plan.log[f]!, m = mean[f]!, k = scale[f]!;
    for (let i = 0; i < n; i++) {
      let v = col[rows ? rows[i]! : i]!;
      if (Number.isNaN(v)) continue;
      if (lg) v = slog(v);
      v = (v - m) * k;
      out[i * width + cell] = Number.isFinite(v) ? v : 0;
    }
  }
  return out;
}
