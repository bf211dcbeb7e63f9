import type { Table } from '../../dataset/table.ts';
import type { FeatureImportance, PerClassScore } from '../../model/evaluation.ts';

/**
 * What the service needs from a trained model, whatever its kind. The adapter in ./load.ts builds it from the
 * model layer's loader; everything in the service goes through this.
 */
export interface ServiceModel {
  name: string;
  /** Model family as the artifact names it (random-forest, gradient-boosting, ...). */
  kind: string;
  /** sha256 of the artifact file: jobs pin models by it. */
  sha256: string;
  /** What the model predicts (application, category, vpn ...) when the artifact says so. */
  target: string;
  classes: string[];
  /** Confidence below which the answer is 'unknown'. */
  threshold: number;
  /** Table columns the model reads (sources of its features), in first-use order. */
  columns: string[];
  /** Feature inputs after encoding (one-hot columns appear as `name=value`). */
  features: string[];
  /** Flow timeouts the model's training flows were cut with (captures are metered the same way). */
  meter?: { idleTimeoutS?: number; activeTimeoutS?: number; earlyPackets?: number };
  predict(t: Table): Prediction;
  info(): ModelInfo;
}

export interface Prediction {
  /** Per row: the predicted class, or 'unknown' when confidence < threshold. */
  labels: string[];
  /** Per row: probability of the most likely class. */
  confidence: Float64Array;
  /** Per row: 1 when answered unknown. */
  unknown: Uint8Array;
  /** Per row: the most likely class even when answered unknown. */
  best: string[];
  /** Per row: why the answer is unknown (too_few_packets, out_of_distribution, low_confidence), null when answered. */
  unknownReason: (string | null)[];
}

/** GET /models/:name. */
export interface ModelInfo {
  name: string;
  kind: string;
  target: string;
  sha256: string;
  classes: string[];
  threshold: number;
  columns: string[];
  features: string[];
  featureImportance: FeatureImportance[];
  metrics: {
    accuracy?: number;
    balancedAccuracy?: number;
    macroF1?: number;
    weightedF1?: number;
    perClass?: PerClassScore[];
    confusion?: number[][];
    split?: string;
    rows?: number;
  } | null;
  trainedAt: string | null;
  sizeBytes: number;
  isDefault: boolean;
}

export const UNKNOWN_LABEL = 'unknown';
