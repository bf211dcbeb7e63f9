import type { FeatureSpec, ExcludedColumn, SplitInfo } from '../dataset/index.ts';
import type { TreeEnsemble } from './trees/ensemble.ts';
import type { ForestParams } from './trees/forest.ts';
import type { BoostingParams } from './trees/boosting.ts';
import type { OutputKind } from './fitting.ts';
import type { Calibration } from './calibration.ts';
import type { NoveltyModel } from './novelty.ts';
import type { NnArchitecture, NnParams, NeuralNetwork } from './nn/spec.ts';
import type { NetworkManifest } from './nn/artifact.ts';
import type { ModelSupport } from './support.ts';
import type { RowSketch } from './fingerprint.ts';

/** The model file's manifest and the loaded model (the file layout itself: ./artifact.ts). */

export const MODEL_FORMAT_VERSION = 1;

export type DType = 'int32' | 'float64' | 'uint8' | 'float32';

export interface BlobRef {
  name: string;
  dtype: DType;
  /** Byte offset from the start of the blob area. */
  offset: number;
  /** Number of elements. */
  length: number;
}

/**
 * The kinds of model, each with its own parameters: the manifest's `modelType` is the discriminant (persisted
 * under that name since format version 1, so shipped model files load as they are).
 */
export type ModelKind =
  | { modelType: 'forest'; params: ForestParams }
  | { modelType: 'boosting'; params: BoostingParams }
  | { modelType: NnArchitecture; params: NnParams };
export type ModelType = ModelKind['modelType'];

/** Everything about a model except its arrays. Persisted as the manifest. */
export type ModelManifest = ManifestBody & ModelKind;

/** The fields every kind of model's manifest has. */
export interface ManifestBody {
  kind: 'veil-model';
  formatVersion: typeof MODEL_FORMAT_VERSION;
  name: string;
  createdAt: string;
  veilVersion: string;
  /** Label column the model was trained on, and its classes (index = model output). */
  label: string;
  classes: string[];
  /** Model inputs in order, and how each is computed from a table column. */
  features: FeatureSpec[];
  /** Identity columns of the training table (copied beside predictions when present in the input). */
  identityColumns: string[];
  preprocessing: {
    textEncoding: 'onehot' | 'ordinal';
    excluded: ExcludedColumn[];
    columnOrder: { status: 'ok' | 'fixed' | 'permuted'; message?: string };
    maxBins: number;
  };
  output: OutputKind;
  calibration: Calibration;
  /** Answer 'unknown' when the calibrated top probability is below this (0: never). */
  unknownBelow: number;
  training: {
    source: string;
    rows: number;
    classCounts: Record<string, number>;
    seed: number;
    threads: number;
    fitSeconds: number;
    trees: number;
    nodes: number;
    rounds?: number;
    /** Fingerprint of the training rows (model/fingerprint.ts): evaluate recognises them by content. */
    rowSketch?: RowSketch;
  };
  /** Cross-validated scores measured before the final fit, with the split that produced them. */
  metrics?: { split: SplitInfo; rows: number; accuracy: number; balancedAccuracy: number; macroF1: number; weightedF1: number };
  featureImportance: { feature: string; impurity: number }[];
  /** Open-set check (isolation forest over the inputs), when trained with one. */
  novelty?: { trees: number; sampleSize: number; threshold: number; quantile: number };
  /**
   * How the training flows were metered, when the trainer said so (`veil train --meter-active-timeout`): `veil
   * classify`, `veil predict` and the service meter captures the same way before applying the model, since
   * time features depend on where flows are cut. `earlyPackets` (`veil train --early N`): learnt from flows cut at
   * their N-th packet, so it gives a live flow's early verdict at packet N (src/live/early.ts).
   */
  meter?: { idleTimeoutS?: number; activeTimeoutS?: number; earlyPackets?: number };
  /** The support guard: packet-count floor, input ranges and how the confidence threshold was chosen. */
  support?: ModelSupport;
  /** Neural models: layers, input plan, training curves (weights are the `nn.*` blobs). */
  network?: NetworkManifest;
  storage?: { blobs: BlobRef[]; sha256: string };
}

/** A loaded model: tree models carry `ensemble`, neural models (modelType mlp, cnn, lstm, cnn-lstm) `network`. */
export interface VeilModel {
  manifest: ModelManifest;
  ensemble?: TreeEnsemble;
  network?: NeuralNetwork;
  novelty?: NoveltyModel;
}

