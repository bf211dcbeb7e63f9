/**
 * Neural network descriptions: what is persisted in a model manifest (architecture, input plan, layers) and the
 * training parameters. Weights live beside the manifest as float32 blobs, one per layer parameter, in the order
 * `parameterShapes()` lists them.
 */
export const NN_ARCHITECTURES = ['mlp', 'cnn', 'lstm', 'cnn-lstm'] as const;
export type NnArchitecture = (typeof NN_ARCHITECTURES)[number];

export function isNnArchitecture(s: string): s is NnArchitecture {
  return (NN_ARCHITECTURES as readonly string[]).includes(s);
}

/** 'sequence': the early-packet sequence (seq_len_i, seq_dir_i, seq_gap_i_us); 'features': the flow feature vector. */
export type NnInputKind = 'sequence' | 'features';

export interface NnParams {
  architecture: NnArchitecture;
  /** 'auto': the sequence when the table has one (not for mlp), else the feature vector. */
  input: NnInputKind | 'auto';
  epochs: number;
  batchSize: number;
  /** Adam step size. */
  learningRate: number;
  /** Dense layer widths: the MLP's hidden layers; the CNN's layers after pooling. */
  hidden: number[];
  /** Convolution layers (filters each): CNN and CNN-LSTM. */
  filters: number[];
  kernelSize: number;
  /** LSTM hidden units. */
  units: number;
  classWeight: 'balanced' | 'none';
  /** Share of the training rows held out for early stopping and calibration (0: none, train every epoch). */
  validationShare: number;
  /** Epochs without a better validation loss before stopping (the best epoch's weights are kept). */
  patience: number;
  /** Feature-vector inputs: signed log1p before standardising (heavy-tailed times and rates), or standardise only. */
  scaling: 'log-standard' | 'standard';
  seed: number;
}

export const NN_DEFAULTS: Omit<NnParams, 'architecture'> = {
  input: 'auto',
  epochs: 20,
  batchSize: 64,
  learningRate: 1e-3,
  hidden: [],
  filters: [],
  kernelSize: 3,
  units: 64,
  classWeight: 'balanced',
  validationShare: 0.1,
  patience: 5,
  scaling: 'log-standard',
  seed: 0,
};

const SHAPE: Record<NnArchitecture, Pick<NnParams, 'hidden' | 'filters'>> = {
  mlp: { hidden: [128, 64], filters: [] },
  cnn: { hidden: [64], filters: [32, 64] },
  lstm: { hidden: [], filters: [] },
  'cnn-lstm': { hidden: [], filters: [32] },
};

/** Full parameters for an architecture: its default layer sizes, then `p` on top. */
export function nnParams(architecture: NnArchitecture, p: Partial<NnParams> = {}): NnParams {
  return { ...NN_DEFAULTS, ...SHAPE[architecture], ...p, architecture };
}

/** How each model input (manifest.features order) enters the [steps x channels] input grid. */
export interface InputPlan {
  kind: NnInputKind;
  steps: number;
  channels: number;
  /** Channel names, e.g. ['size', 'direction', 'log gap'] or ['value']. */
  channelNames: string[];
  /** Per model input: its cell in the grid (step * channels + channel). */
  cell: number[];
  /** Per model input: signed log1p before standardising. */
  log: boolean[];
}

export type LayerSpec =
  | { kind: 'dense'; inputs: number; units: number; activation: 'relu' | 'linear' }
  /** 'same' padding, stride 1; weight [kernel * channels, filters] (im2col order: step offset, then channel). */
  | { kind: 'conv1d'; channels: number; filters: number; kernel: number; activation: 'relu' }
  /** Maximum over time of [steps, channels] (gives [channels]). */
  | { kind: 'maxpool'; channels: number }
  /** Returns the last hidden state; weights x [inputs, 4u], h [u, 4u], bias [4u], gate blocks in order i, f, o, g. */
  | { kind: 'lstm'; inputs: number; units: number }
  /** [steps, channels] to [steps * channels]. */
  | { kind: 'flatten' };

/** The persisted network: input plan and layers, from input grid to class logits. */
export interface NetworkSpec {
  architecture: NnArchitecture;
  input: InputPlan;
  layers: LayerSpec[];
  classes: number;
}

/** A network ready to apply: its spec, weights and the input standardisation fitted on training rows. */
export interface NeuralNetwork {
  spec: NetworkSpec;
  /** One array per parameter, in `parameterShapes(spec)` order. */
  weights: Float32Array[];
  /** Per model input: subtracted after the optional log, then multiplied by `scale`. */
  mean: Float64Array;
  scale: Float64Array;
}

export interface ParameterShape {
  /** Blob name suffix, e.g. '0.w'. */
  name: string;
  shape: number[];
}

/** The parameters of a network in storage order. */
export function parameterShapes(spec: NetworkSpec): ParameterShape[] {
  const out: ParameterShape[] = [];
  spec.layers.forEach((l, i) => {
    switch (l.kind) {
      case 'dense': out.push({ name: `${i}.w`, shape: [l.inputs, l.units] }, { name: `${i}.b`, shape: [l.units] }); break;
      case 'conv1d': out.push({ name: `${i}.w`, shape: [l.kernel * l.channels, l.filters] }, { name: `${i}.b`, shape: [l.filters] }); break;
      case 'lstm': out.push(
        { name: `${i}.wx`, shape: [l.inputs, 4 * l.units] }, { name: `${i}.wh`, shape: [l.units, 4 * l.units] },
        { name: `${i}.b`, shape: [4 * l.units] },
      ); break;
      default: break;
    }
  });
  return out;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The layers of an architecture for an input grid and class count. */
export function buildLayers(p: NnParams, input: InputPlan, classes: number): LayerSpec[] {
  const layers: LayerSpec[] = [];
  let width = input.channels;
  const conv = (): void => {
    for (const f of p.filters) {
      layers.push({ kind: 'conv1d', channels: width, filters: f, kernel: p.kernelSize, activation: 'relu' });
      width = f;
    }
  };
  const dense = (from: number): number => {
    let w = from;
    for (const h of p.hidden) { layers.push({ kind: 'dense', inputs: w, units: h, activation: 'relu' }); w = h; }
    return w;
  };
  let last: number;
  switch (p.architecture) {
    case 'mlp':
      layers.push({ kind: 'flatten' });
      last = dense(input.steps * input.channels);
      break;
    case 'cnn':
      conv();
      layers.push({ kind: 'maxpool', channels: width });
      last = dense(width);
      break;
    case 'lstm':
    case 'cnn-lstm':
      if (p.architecture === 'cnn-lstm') conv();
      layers.push({ kind: 'lstm', inputs: width, units: p.units });
      last = dense(p.units);
      break;
  }
  layers.push({ kind: 'dense', inputs: last, units: classes, activation: 'linear' });
  return layers;
}

/** One line describing the layers, e.g. 'conv1d 3>32 k3 relu, maxpool, dense 32>2'. */
export function describeLayers(layers: readonly LayerSpec[]): string {
  return layers.map((l) => {
    switch (l.kind) {
      case 'dense': return `dense ${l.inputs}>${l.units}${l.activation === 'relu' ? ' relu' : ''}`;
      case 'conv1d': return `conv1d ${l.channels}>${l.filters} k${l.kernel} relu`;
      case 'maxpool': return 'max over time';
      case 'lstm': return `lstm ${l.inputs}>${l.units}`;
      case 'flatten': return 'flatten';
    }
  }).join(', ');
}
