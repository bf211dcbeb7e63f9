/**
 * Neural networks beside the tree ensembles: an MLP over the flow feature vector, and a 1D-CNN, an LSTM and a
 * CNN-LSTM over the early-packet sequence (or the feature vector as a sequence). Trained in tfjs (wasm backend),
 * applied over typed arrays (no tensor library at prediction time), stored in the same model file as the trees.
 */
export {
  NN_ARCHITECTURES, NN_DEFAULTS, nnParams, isNnArchitecture, parameterShapes, buildLayers, describeLayers, sizeOf,
  type NnArchitecture, type NnInputKind, type NnParams, type InputPlan, type LayerSpec, type NetworkSpec,
  type NeuralNetwork, type ParameterShape,
} from './spec.ts';
export { sequenceColumns, resolveInputKind, planInput, fitScaling, inputGrid } from './inputs.ts';
export { networkProba, parameterCount } from './forward.ts';
export {
  fitNetwork, validationSplit, initialWeights, networkSpec, shuffleForEpoch,
  type FitNetworkOptions, type FittedNetwork, type NnProgress, type EpochCurve,
} from './train.ts';
export { loadTf, type NnBackend } from './tf.ts';
