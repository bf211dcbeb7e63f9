import { ModelError, ModelErrorCode } from '../errors.ts';
import { parameterShapes, sizeOf, isNnArchitecture, type NetworkSpec, type NeuralNetwork, type LayerSpec } from './spec.ts';
import type { EpochCurve } from './train.ts';
import type { NnBackend } from './tf.ts';

/**
 * A network in the model file: the spec (input plan, layers) and how it was trained in the manifest's `network`
 * field, the weights as float32 blobs `nn.<layer>.<param>` and the input standardisation as float64 blobs
 * `nn.mean`, `nn.scale`. Loading checks every shape against the layers, so a damaged or foreign file is refused
 * at load, not with a wild index at prediction time.
 */
export interface NetworkManifest extends NetworkSpec {
  parameters: number;
  training: { backend: NnBackend; epochsRun: number; bestEpoch: number; epochSeconds: number; validationRows: number };
  /** Loss and accuracy per epoch of the final fit (train and validation share). */
  curves: EpochCurve[];
}

type Blob = Float32Array | Float64Array;

/** The network's arrays, named, in storage order. */
export function networkBlobs(net: NeuralNetwork): [string, Blob][] {
  const shapes = parameterShapes(net.spec);
  return [
    ...shapes.map((s, k): [string, Blob] => [`nn.${s.name}`, net.weights[k]!]),
    ['nn.mean', net.mean], ['nn.scale', net.scale],
  ];
}

function bad(file: string, msg: string): never {
  throw new ModelError(ModelErrorCode.CORRUPT, `${file}: ${msg}`);
}

/** Most cells (steps x channels) of a network's input grid. */
const MAX_GRID = 1 << 16;

const posInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 1 << 24;

/** Checks a layer list: known kinds, positive sizes, each layer's input width equal to the previous output. */
function checkLayers(spec: NetworkSpec, file: string): void {
  const { input } = spec;
  let steps = input.steps, width = input.channels;
  let seq = true;
  (spec.layers as LayerSpec[]).forEach((l, i) => {
    const where = `layer ${i} (${String((l as { kind?: unknown } | null)?.kind)})`;
    switch (l?.kind) {
      case 'flatten':
        width = steps * width; steps = 1; seq = false;
        break;
      case 'dense':
        if (seq && steps !== 1) bad(file, `${where} follows a sequence`);
        if (!posInt(l.inputs) || !posInt(l.units) || l.inputs !== width) bad(file, `${where} takes ${l.inputs} inputs, gets ${width}`);
        if (l.activation !== 'relu' && l.activation !== 'linear') bad(file, `${where} has activation ${JSON.stringify(l.activation)}`);
        width = l.units; seq = false;
        break;
      case 'conv1d':
        if (!seq) bad(file, `${where} needs a sequence`);
        if (!posInt(l.channels) || !posInt(l.filters) || !posInt(l.kernel) || l.channels !== width) bad(file, `${where} takes ${l.channels} channels, gets ${width}`);
        width = l.filters;
        break;
      case 'maxpool':
        if (!seq || l.channels !== width) bad(file, `${where} does not fit its input`);
        steps = 1; seq = false;
        break;
      case 'lstm':
        if (!seq) bad(file, `${where} needs a sequence`);
        if (!posInt(l.inputs) || !posInt(l.units) || l.inputs !== width) bad(file, `${where} takes ${l.inputs} inputs, gets ${width}`);
        width = l.units; steps = 1; seq = false;
        break;
      default:
        bad(file, `${where}: unknown layer kind`);
    }
  });
  if (seq || width !== spec.classes) bad(file, `the last layer gives ${width} outputs for ${spec.classes} classes`);
}

/**
 * The network of a manifest from its blobs; `get` returns a named blob of the asked type or throws.
 * `features` and `classes` are the manifest's counts, which the network must agree with.
 */
export function networkFromBlobs(
  m: NetworkManifest | undefined, features: number, classes: number, file: string,
  get: <T extends Blob>(name: string, C: new (...a: never[]) => T) => T,
): NeuralNetwork {
  if (!m || typeof m !== 'object' || !isNnArchitecture(String(m.architecture)) || !Array.isArray(m.layers) || !m.input) {
    bad(file, 'the neural model has no network description');
  }
  const spec: NetworkSpec = { architecture: m.architecture, input: m.input, layers: m.layers, classes: m.classes };
  const inp = spec.input;
  if (spec.classes !== classes) bad(file, `the network has ${spec.classes} outputs for ${classes} classes`);
  if (!posInt(inp.steps) || !posInt(inp.channels) || !Array.isArray(inp.cell) || !Array.isArray(inp.log)) bad(file, 'the network input plan is damaged');
  // The grid is not bounded by any blob (a convolution slides over every step), so a damaged step count would
  // make each prediction arbitrarily slow.
  if (inp.steps * inp.channels > MAX_GRID) bad(file, `the network input grid (${inp.steps} x ${inp.channels}) exceeds ${MAX_GRID} cells`);
  if (inp.cell.length !== features || inp.log.length !== features) bad(file, `the network input plan covers ${inp.cell.length} inputs, the model has ${features}`);
  for (const c of inp.cell) if (!Number.isInteger(c) || c < 0 || c >= inp.steps * inp.channels) bad(file, `input cell ${c} lies outside the ${inp.steps} x ${inp.channels} grid`);
  checkLayers(spec, file);
  const weights = parameterShapes(spec).map((s) => {
    const w = get(`nn.${s.name}`, Float32Array);
    if (w.length !== sizeOf(s.shape)) bad(file, `array 'nn.${s.name}' has ${w.length} values, shape [${s.shape.join(', ')}] needs ${sizeOf(s.shape)}`);
    return w;
  });
  const mean = get('nn.mean', Float64Array), scale = get('nn.scale', Float64Array);
  if (mean.length !== features || scale.length !== features) bad(file, 'the input standardisation does not match the inputs');
  return { spec, weights, mean, scale };
}
