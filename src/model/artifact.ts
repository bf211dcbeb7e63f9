import { createHash } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { prepareInference, type TreeEnsemble } from './trees/ensemble.ts';
import { isNnArchitecture } from './nn/spec.ts';
import { networkBlobs, networkFromBlobs } from './nn/artifact.ts';
import { ModelError, ModelErrorCode } from './errors.ts';
import { validateManifest } from './manifest.ts';

/**
 * The model file: one self-describing binary file.
 *
 *   bytes 0-7    magic "VEILMDL1"
 *   bytes 8-11   manifest length L (u32, little-endian)
 *   bytes 12..   manifest: UTF-8 JSON, L bytes, then zero padding to a multiple of 8
 *   then         blobs: the typed arrays listed in manifest.storage.blobs, each at an 8-byte aligned offset
 *                (relative to the start of the blob area), little-endian; manifest.storage.sha256 covers them all
 *
 * Writing the loaded model again gives the same bytes (fields in a fixed order, arrays stored raw).
 */
export const MODEL_MAGIC = 'VEILMDL1';
export { MODEL_FORMAT_VERSION } from './types.ts';
export type { DType, BlobRef, ModelManifest, VeilModel } from './types.ts';
import { MODEL_FORMAT_VERSION, type BlobRef, type DType, type ModelManifest, type VeilModel } from './types.ts';

type Arr = Int32Array | Float64Array | Uint8Array | Float32Array;

function blobsOf(m: VeilModel): [string, Arr][] {
  const e = m.ensemble;
  const out: [string, Arr][] = m.network ? networkBlobs(m.network) : e ? [
    ['roots', e.roots], ['feature', e.feature], ['threshold', e.threshold], ['left', e.left],
    ['missingLeft', e.missingLeft], ['leafClass', e.leafClass], ['leafValue', e.leafValue],
  ] : [];
  if (m.novelty) {
    const v = m.novelty.forest;
    out.push(
      ['novelty.roots', v.roots], ['novelty.feature', v.feature], ['novelty.threshold', v.threshold],
      ['novelty.left', v.left], ['novelty.missingLeft', v.missingLeft], ['novelty.leafClass', v.leafClass],
      ['novelty.leafValue', v.leafValue],
    );
  }
  return out;
}

function dtypeOf(a: Arr): DType {
  return a instanceof Int32Array ? 'int32' : a instanceof Float64Array ? 'float64' : a instanceof Float32Array ? 'float32' : 'uint8';
}

const align8 = (n: number): number => (n + 7) & ~7;

/** The model as file bytes. */
export function serializeModel(m: VeilModel): Uint8Array {
  const blobs: BlobRef[] = [];
  let off = 0;
  const arrays = blobsOf(m);
  for (const [name, a] of arrays) {
    blobs.push({ name, dtype: dtypeOf(a), offset: off, length: a.length });
    off = align8(off + a.byteLength);
  }
  const area = new Uint8Array(off);
  arrays.forEach(([, a], i) => {
    // Typed arrays are little-endian on every platform Node runs on; copy bytes as they are.
    area.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), blobs[i]!.offset);
  });
  const sha256 = createHash('sha256').update(area).digest('hex');
  const { storage: _old, ...rest } = m.manifest;
  const manifest: ModelManifest = { ...rest, storage: { blobs, sha256 } };
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const head = 12 + json.length;
  const out = new Uint8Array(align8(head) + area.length);
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(area, align8(head));
  return out;
}

function fail(code: (typeof ModelErrorCode)[keyof typeof ModelErrorCode], file: string, msg: string): never {
  throw new ModelError(code, `${file}: ${msg}`);
}

/** Reads model bytes; any problem is a ModelError naming the file and what is wrong. */
export function deserializeModel(bytes: Uint8Array, file = '<model>'): VeilModel {
  if (bytes.length < 12) fail(ModelErrorCode.NOT_A_MODEL, file, `not a Veil model (${bytes.length} bytes, too short for a header)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MODEL_MAGIC) {
    if (magic.startsWith('VEILMDL')) {
      fail(ModelErrorCode.WRONG_VERSION, file, `Veil model container '${magic}' is not supported by this build (reads ${MODEL_MAGIC})`);
    }
    fail(ModelErrorCode.NOT_A_MODEL, file, `not a Veil model (expected the magic bytes ${MODEL_MAGIC}, found ${JSON.stringify(magic.replace(/[^\x20-\x7e]/g, '.'))})`);
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) fail(ModelErrorCode.CORRUPT, file, `truncated: the manifest needs ${len} bytes, the file has ${bytes.length - 12}`);
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + len))) as ModelManifest;
  } catch (e) {
    fail(ModelErrorCode.CORRUPT, file, `corrupt manifest (${(e as Error).message})`);
  }
  if (!manifest || typeof manifest !== 'object' || manifest.kind !== 'veil-model') {
    fail(ModelErrorCode.NOT_A_MODEL, file, `not a Veil model (manifest kind ${JSON.stringify((manifest as { kind?: unknown })?.kind)})`);
  }
  if (manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(
      ModelErrorCode.WRONG_VERSION, file,
      `model format version ${JSON.stringify(manifest.formatVersion)}; this build reads version ${MODEL_FORMAT_VERSION}` +
        (typeof manifest.formatVersion === 'number' && manifest.formatVersion > MODEL_FORMAT_VERSION ? ' (written by a newer Veil)' : ''),
    );
  }
  manifest = validateManifest(manifest, file);
  const storage = manifest.storage!;
  const start = align8(12 + len);
  const area = bytes.subarray(start);
  const sha = createHash('sha256').update(area).digest('hex');
  if (sha !== storage.sha256) fail(ModelErrorCode.CORRUPT, file, 'checksum mismatch: the model arrays are damaged (truncated or modified file)');
  const arrays = new Map<string, Arr>();
  for (const b of storage.blobs) {
    const size = b.dtype === 'uint8' ? 1 : b.dtype === 'int32' || b.dtype === 'float32' ? 4 : b.dtype === 'float64' ? 8 : 0;
    if (!size || !Number.isInteger(b.offset) || !Number.isInteger(b.length) || b.offset < 0 || b.length < 0 || b.offset + b.length * size > area.length) {
      fail(ModelErrorCode.CORRUPT, file, `array '${b.name}' lies outside the file`);
    }
    // Copy into a fresh, aligned buffer (the file's bytes may sit anywhere in Node's buffer pool; Buffer#slice
    // would not copy).
    const copy = new Uint8Array(area.subarray(b.offset, b.offset + b.length * size));
    arrays.set(b.name, b.dtype === 'uint8' ? copy : b.dtype === 'int32' ? new Int32Array(copy.buffer) : b.dtype === 'float32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer));
  }
  const get = <T extends Arr>(name: string, C: new (...a: never[]) => T): T => {
    const a = arrays.get(name);
    if (!(a instanceof C)) fail(ModelErrorCode.CORRUPT, file, `array '${name}' is missing or has the wrong type`);
    return a;
  };
  const nClasses = manifest.classes?.length ?? 0;
  const nFeatures = manifest.features?.length ?? 0;
  let model: VeilModel;
  if (isNnArchitecture(String(manifest.modelType))) {
    model = { manifest, network: networkFromBlobs(manifest.network, nFeatures, nClasses, file, get) };
  } else {
    if (manifest.modelType !== 'forest' && manifest.modelType !== 'boosting') {
      fail(ModelErrorCode.WRONG_VERSION, file, `model type ${JSON.stringify(manifest.modelType)} is not supported by this build (it reads forest, boosting, mlp, cnn, lstm, cnn-lstm)`);
    }
    const ensemble: TreeEnsemble = {
      nFeatures, nClasses,
      roots: get('roots', Int32Array), feature: get('feature', Int32Array), threshold: get('threshold', Float64Array),
      left: get('left', Int32Array), missingLeft: get('missingLeft', Uint8Array),
      leafClass: get('leafClass', Int32Array), leafValue: get('leafValue', Float64Array),
    };
    checkEnsemble(ensemble, file);
    model = { manifest, ensemble };
  }
  if (manifest.novelty) {
    const forest: TreeEnsemble = {
      nFeatures, nClasses: 1,
      roots: get('novelty.roots', Int32Array), feature: get('novelty.feature', Int32Array),
      threshold: get('novelty.threshold', Float64Array), left: get('novelty.left', Int32Array),
      missingLeft: get('novelty.missingLeft', Uint8Array), leafClass: get('novelty.leafClass', Int32Array),
      leafValue: get('novelty.leafValue', Float64Array),
    };
    checkEnsemble(forest, file);
    model.novelty = { forest, ...manifest.novelty };
  }
  return model;
}

/** Structural checks so a damaged model fails at load, not with a wild index at prediction time. */
function checkEnsemble(e: TreeEnsemble, file: string): void {
  const n = e.feature.length;
  if (e.threshold.length !== n || e.left.length !== n || e.missingLeft.length !== n) {
    fail(ModelErrorCode.CORRUPT, file, 'node arrays differ in length');
  }
  for (let t = 0; t < e.roots.length; t++) if (e.roots[t]! < 0 || e.roots[t]! >= n) fail(ModelErrorCode.CORRUPT, file, `tree ${t} has no root`);
  const entries = e.leafClass.length;
  if (e.leafValue.length !== entries) fail(ModelErrorCode.CORRUPT, file, 'leaf arrays differ in length');
  for (let i = 0; i < n; i++) {
    const f = e.feature[i]!;
    const l = e.left[i]!;
    if (f >= 0) {
      if (f >= e.nFeatures || l <= i || l + 1 >= n) fail(ModelErrorCode.CORRUPT, file, `node ${i} is inconsistent`);
    } else if (l < 0 || l - f > entries) fail(ModelErrorCode.CORRUPT, file, `leaf ${i} points outside the leaf values`);
  }
  for (let j = 0; j < entries; j++) {
    const c = e.leafClass[j]!;
    if (c < 0 || c >= Math.max(1, e.nClasses)) fail(ModelErrorCode.CORRUPT, file, `leaf value ${j} names class ${c}`);
  }
}

/** Writes a model file (atomically: a temporary file renamed into place). */
export async function saveModel(m: VeilModel, path: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, serializeModel(m));
  await rename(tmp, path);
}

export async function loadModel(path: string): Promise<VeilModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError(ModelErrorCode.NOT_A_MODEL, `${path}: cannot read the model file (${code ?? (e as Error).message})`);
  }
  return deserializeModel(bytes, path);
}
