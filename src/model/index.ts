/**
 * Learning: tree ensembles (random forest, histogram gradient boosting) over typed arrays, neural networks (MLP,
 * 1D-CNN, LSTM, CNN-LSTM; trained in tfjs, applied over typed arrays), the model file,
 * calibration and open-set 'unknown' answers, metrics and evaluation results.
 */
export {
  prepareTraining, makeSplit, crossValidate, trainModel, predictColumns, predictTable, modelInputs,
  evaluateModel, cvEvaluation, permutationImportance, identityColumnsOf, modelProba, VEIL_VERSION,
  type TrainConfig, type PreparedData, type SplitSpec, type CrossValidation, type Predictions, type EvaluateOptions,
} from './classifier.ts';
export {
  fitEnsemble, predictProba, forestParams, boostingParams,
  type LearnerSpec, type OutputKind, type FitOptions, type Fitted,
} from './learners.ts';
export { FOREST_DEFAULTS, type ForestParams } from './trees/forest.ts';
export { BOOSTING_DEFAULTS, type BoostingParams } from './trees/boosting.ts';
export { accumulate, joinTrees, prepareInference, type TreeEnsemble, type FlatTree } from './trees/ensemble.ts';
export { closeWorkers } from './trees/pool.ts';
export { fitBinEdges, binColumns, binRowMajor, binOf, MISSING_BIN, MAX_BINS } from './binning.ts';
export {
  saveModel, loadModel, serializeModel, deserializeModel, MODEL_MAGIC, MODEL_FORMAT_VERSION,
  type VeilModel, type ModelManifest, type BlobRef,
} from './artifact.ts';
export type { ModelKind, ModelType, ManifestBody } from './types.ts';
export { validateManifest, METER_TIMEOUT_RANGE_S } from './manifest.ts';
export type { ModelSupport } from './support.ts';
export { fitTemperature, applyCalibration, temperedNll, type Calibration } from './calibration.ts';
export { fitNovelty, noveltyScores, type NoveltyModel } from './novelty.ts';
export { scores, macroF1, type Scores, type ScoreInput } from './metrics.ts';
export type { EvaluationResult, PerClassScore, FeatureImportance, SplitDescription } from './evaluation.ts';
export { ModelError, ModelErrorCode } from './errors.ts';
export { formatEvaluation } from './summary.ts';
export {
  NN_ARCHITECTURES, nnParams, isNnArchitecture, networkProba, fitNetwork, describeLayers,
  type NnArchitecture, type NnParams, type NeuralNetwork,
} from './nn/index.ts';
