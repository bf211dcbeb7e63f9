import type { FeatureSpec } from '../dataset/index.ts';
import { noveltyScores, type NoveltyModel } from './novelty.ts';

/**
 * The support guard's record in the manifest: what the training rows looked like, so a model answers 'unknown'
 * (with a reason) instead of extrapolating. See `unknownRule`.
 */
export interface ModelSupport {
  /** Packet-count floor: flows with fewer than `min` packets are `too_few_packets`. */
  packets?: {
    /** How a row's packet count is computed from the model's inputs. */
    from: 'fwd_pkts+bwd_pkts' | 'flowPktsPerSecond*duration';
    min: number;
    /** The training share below which a packet count counts as unsupported (min = that quantile of the training rows). */
    share: number;
  };
  /** Per model input, the range of the training rows' values (null: no finite value); outside: `out_of_distribution`. */
  ranges?: { lo: (number | null)[]; hi: (number | null)[] };
  /** How `unknownBelow` was chosen on held-out rows. */
  confidence?: { target: number; threshold: number; accuracy: number; coverage: number; rows: number; heldOut: string };
}


/**
 * How far outside a training range a value may lie and still count as inside: flow tables round non-integers to six
 * decimals (flow/encoders.ts), so a model trained from a table saw 0.333333 where a capture metered for it gives
 * 0.3333333333; without the slack every flow at a range's end (all of them, for a feature constant in training)
 * came out out_of_distribution on the very captures the model was trained on.
 */
export const RANGE_SLACK = 5e-7;

/** Why a row was answered 'unknown' (index = the code in `Predictions.reason`; 0 = answered). */
export const UNKNOWN_REASONS = ['answered', 'too_few_packets', 'out_of_distribution', 'low_confidence'] as const;
export type UnknownReason = (typeof UNKNOWN_REASONS)[number];
export const ANSWERED = 0, TOO_FEW_PACKETS = 1, OUT_OF_DISTRIBUTION = 2, LOW_CONFIDENCE = 3;

/** Defaults of the guard chosen at training time. */
export const GUARD_DEFAULTS = {
  /** The confidence threshold is the lowest at which held-out accuracy of the answered rows reaches this. */
  targetAccuracy: 0.9,
  /** ... unless that answers fewer than this share of the held-out rows: then the threshold answers this share. */
  minCoverage: 0.2,
  /** Packet counts rarer than this share of the training rows (the lower quantile) are unsupported. */
  packetShare: 0.05,
};
export type GuardConfig = Partial<typeof GUARD_DEFAULTS>;

/** How a row's packet count is computed from the model inputs, if it can be. */
export function packetSource(features: readonly FeatureSpec[]): NonNullable<ModelSupport['packets']>['from'] | null {
  const names = new Set(features.map((f) => f.name));
  if (names.has('fwd_pkts') && names.has('bwd_pkts')) return 'fwd_pkts+bwd_pkts';
  if (names.has('flowPktsPerSecond') && names.has('duration')) return 'flowPktsPerSecond*duration';
  return null;
}

/**
 * Packet count per row from the model inputs (NaN where unknown). ISCX tables have no count: it is the rate times
 * the duration (microseconds), and 1 for a zero-length flow (ISCX writes rate 0 then; nearly all such flows have one
 * packet).
 */
export function packetCounts(features: readonly FeatureSpec[], columns: readonly Float64Array[], from: NonNullable<ModelSupport['packets']>['from']): Float64Array {
  const at = (n: string): Float64Array => columns[features.findIndex((f) => f.name === n)]!;
  const n = columns[0]?.length ?? 0;
  const out = new Float64Array(n);
  if (from === 'fwd_pkts+bwd_pkts') {
    const a = at('fwd_pkts'), b = at('bwd_pkts');
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  } else {
    const rate = at('flowPktsPerSecond'), dur = at('duration');
    for (let i = 0; i < n; i++) out[i] = dur[i]! > 0 ? Math.max(1, Math.round((rate[i]! * dur[i]!) / 1e6)) : dur[i] === 0 ? 1 : NaN;
  }
  return out;
}

/**
 * The support of the training rows: packet-count floor (the `packetShare` quantile of their packet counts) and each
 * input's range.
 *
 * @example
 * const s = fitSupport(specs, columns, rows); // s.packets.min: flows with fewer packets are too_few_packets
 */
export function fitSupport(features: readonly FeatureSpec[], columns: readonly Float64Array[], rows: Int32Array, cfg: GuardConfig = {}): ModelSupport {
  const share = cfg.packetShare ?? GUARD_DEFAULTS.packetShare;
  const out: ModelSupport = {};
  const from = packetSource(features);
  if (from) {
    const all = packetCounts(features, columns, from);
    const p = Float64Array.from(rows, (r) => all[r]!).filter((x) => Number.isFinite(x)).sort();
    if (p.length) out.packets = { from, min: Math.max(0, Math.round(p[Math.min(p.length - 1, Math.floor(share * p.length))]!)), share };
  }
  const lo: (number | null)[] = [], hi: (number | null)[] = [];
  for (const c of columns) {
    let a = Infinity, b = -Infinity;
    for (const r of rows) { const v = c[r]!; if (v < a) a = v; if (v > b) b = v; }
    const ok = Number.isFinite(a) && Number.isFinite(b);
    lo.push(ok ? a : null); hi.push(ok ? b : null);
  }
  out.ranges = { lo, hi };
  return out;
}

/**
 * Risk-coverage curve: answering the rows whose confidence is at least t, for each distinct t (descending), the
 * share answered (coverage, increasing) and the accuracy of the answered rows. `correct[i]` 1 when row i's most
 * probable class is its true class; rows with `use[i]` 0 are left out. At most `maxPoints` points (evenly spread
 * over coverage, the last always kept).
 */
export function riskCoverage(
  confidence: Float64Array, correct: Uint8Array, use?: Uint8Array, maxPoints = 101,
): { coverage: number[]; accuracy: number[]; threshold: number[] } {
  const idx: number[] = [];
  for (let i = 0; i < confidence.length; i++) if (!use || use[i]) idx.push(i);
  idx.sort((a, b) => confidence[b]! - confidence[a]!);
  const n = idx.length;
  const pts: { coverage: number; accuracy: number; threshold: number }[] = [];
  let ok = 0;
  for (let k = 0; k < n; k++) {
    ok += correct[idx[k]!]!;
    const t = confidence[idx[k]!]!;
    if (k + 1 < n && confidence[idx[k + 1]!] === t) continue; // ties are answered together
    pts.push({ coverage: (k + 1) / n, accuracy: ok / (k + 1), threshold: t });
  }
  let kept = pts;
  if (pts.length > maxPoints) {
    kept = [];
    let next = 0;
    for (let j = 0; j < pts.length; j++) {
      if (pts[j]!.coverage >= next || j === pts.length - 1) { kept.push(pts[j]!); next = pts[j]!.coverage + 1 / (maxPoints - 1); }
    }
  }
  return { coverage: kept.map((p) => p.coverage), accuracy: kept.map((p) => p.accuracy), threshold: kept.map((p) => p.threshold) };
}

/**
 * The confidence threshold chosen on held-out rows: the lowest at which the accuracy of the answered rows reaches
 * `targetAccuracy`, or, when that would answer fewer than `minCoverage` of them, the one that answers that share.
 */
export function chooseThreshold(
  confidence: Float64Array, correct: Uint8Array, cfg: GuardConfig, heldOut: string, use?: Uint8Array,
): NonNullable<ModelSupport['confidence']> {
  const target = cfg.targetAccuracy ?? GUARD_DEFAULTS.targetAccuracy;
  const minCov = cfg.minCoverage ?? GUARD_DEFAULTS.minCoverage;
  const c = riskCoverage(confidence, correct, use, Infinity);
  const m = c.coverage.length;
  if (!m) return { target, threshold: 0, accuracy: 0, coverage: 0, rows: 0, heldOut };
  let best = -1;
  for (let j = 0; j < m; j++) if (c.accuracy[j]! >= target) best = j;
  if (best < 0 || c.coverage[best]! < minCov) {
    best = c.coverage.findIndex((x) => x >= minCov);
    if (best < 0) best = m - 1;
  }
  // The lowest confidence answered; every row at or above it is answered. Answering everything needs threshold 0.
  const threshold = best === m - 1 ? 0 : c.threshold[best]!;
  const rows = use ? use.reduce((a, b) => a + b, 0) : confidence.length;
  return { target, threshold, accuracy: c.accuracy[best]!, coverage: c.coverage[best]!, rows, heldOut };
}

/** What the unknown rule needs from a model. */
export interface GuardModel {
  manifest: { features: FeatureSpec[]; support?: ModelSupport; unknownBelow: number };
  novelty?: NoveltyModel;
}

/**
 * THE rule that decides 'unknown', for prediction and evaluation alike. Per row, in this order:
 * too_few_packets (fewer packets than the support's floor), out_of_distribution (an input outside the training
 * range, or an isolation score above the novelty threshold), low_confidence (calibrated top probability below
 * `unknownBelow`). Models without a recorded support use the novelty check only when `unknownBelow` > 0, as
 * before the guard. Returns the reason code per row (0 = answered) and the novelty scores it computed.
 */
export function unknownReasons(
  model: GuardModel, columns: readonly Float64Array[], confidence: Float64Array, unknownBelow = model.manifest.unknownBelow,
): { reason: Uint8Array; novelty?: Float64Array } {
  const m = model.manifest;
  const n = confidence.length;
  const reason = new Uint8Array(n);
  const s = m.support;
  const novelty = model.novelty ? noveltyScores(model.novelty, columns) : undefined;
  const useNovelty = novelty && (s !== undefined || unknownBelow > 0);
  const thr = model.novelty?.threshold ?? Infinity;
  const packets = s?.packets ? packetCounts(m.features, columns, s.packets.from) : null;
  const minPackets = s?.packets?.min ?? 0;
  const lo = s?.ranges?.lo, hi = s?.ranges?.hi;
  for (let i = 0; i < n; i++) {
    if (packets && packets[i]! < minPackets) { reason[i] = TOO_FEW_PACKETS; continue; }
    let out = useNovelty ? novelty![i]! > thr : false;
    if (!out && lo && hi) {
      for (let f = 0; f < columns.length; f++) {
        const a = lo[f], b = hi[f];
        if (a === null || b === null || a === undefined || b === undefined) continue;
        const v = columns[f]![i]!;
        if (v < a - RANGE_SLACK - Math.abs(a) * 1e-12 || v > b + RANGE_SLACK + Math.abs(b) * 1e-12) { out = true; break; }
      }
    }
    if (out) { reason[i] = OUT_OF_DISTRIBUTION; continue; }
    if (confidence[i]! < unknownBelow) reason[i] = LOW_CONFIDENCE;
  }
  return { reason, ...(novelty ? { novelty } : {}) };
}

/** Rows per reason, by name. */
export function reasonCounts(reason: Uint8Array, use?: Uint8Array): Record<UnknownReason, number> {
  const out = Object.fromEntries(UNKNOWN_REASONS.map((r) => [r, 0])) as Record<UnknownReason, number>;
  for (let i = 0; i < reason.length; i++) if (!use || use[i]) out[UNKNOWN_REASONS[reason[i]!]!]++;
  return out;
}
