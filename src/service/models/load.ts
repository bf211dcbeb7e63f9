import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Table } from '../../dataset/table.ts';
import { MODEL_MAGIC, deserializeModel, type VeilModel } from '../../model/artifact.ts';
import { predictTable } from '../../model/classifier.ts';
import type { EvaluationResult } from '../../model/evaluation.ts';
import { ServiceError } from '../errors.ts';
import { UNKNOWN_LABEL, type ModelInfo, type Prediction, type ServiceModel } from './types.ts';

/** Extension given to uploaded models (any file starting with the model magic is loaded, whatever its name). */
export const MODEL_EXTENSION = '.veilmodel';

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A catalog name from a file name: the name without its last extension. */
export function modelNameOf(fileName: string): string {
  return fileName.replace(/\.[A-Za-z0-9]{1,12}$/, '');
}

/** True when the file starts with the model file's magic bytes. */
export function isModelFile(file: string): boolean {
  let fd: number;
  try {
    if (!statSync(file).isFile()) return false;
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(MODEL_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === MODEL_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Model files of a directory as [name, path], sorted by file name (the first of two files with one name wins). */
export function modelFiles(dir: string): [string, string][] {
  if (!existsSync(dir)) return [];
  const out: [string, string][] = [];
  for (const f of readdirSync(dir).sort()) {
    if (/\.(tmp|part|json)$/.test(f) || f.includes('.tmp-')) continue;
    const p = path.join(dir, f);
    if (isModelFile(p)) out.push([modelNameOf(f), p]);
  }
  return out;
}

/** The evaluation written beside a model (`<name>.evaluation.json`, as `veil evaluate` writes it), if any. */
function evaluationBeside(file: string): EvaluationResult | null {
  const p = path.join(path.dirname(file), `${modelNameOf(path.basename(file))}.evaluation.json`);
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as EvaluationResult;
    return r && r.kind === 'veil-evaluation' && Array.isArray(r.classes) && Array.isArray(r.confusion) ? r : null;
  } catch {
    return null;
  }
}

/**
 * Loads a model file into the service's model interface. The model layer validates it (magic, version,
 * checksum, structure): anything else is a BAD_MODEL error naming what is wrong.
 */
export async function loadModelFile(file: string, name: string): Promise<ServiceModel> {
  const bytes = readFileSync(file);
  let model: VeilModel;
  try {
    // A plain Uint8Array, not the Buffer readFileSync returns: Buffer#slice is a view, and the model reader
    // relies on slice() copying (its arrays would otherwise span the whole file).
    model = deserializeModel(new Uint8Array(bytes), name);
  } catch (err) {
    const e = err as { userFacing?: boolean; message?: string };
    throw new ServiceError('BAD_MODEL', e.userFacing && e.message ? e.message : `${name}: not a readable model file`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return adapt(model, name, sha256, evaluationBeside(file));
}

const KIND_NAMES: Record<string, string> = { forest: 'random-forest', boosting: 'gradient-boosting' };

function adapt(model: VeilModel, name: string, sha256: string, evaluation: EvaluationResult | null): ServiceModel {
  const m = model.manifest;
  const classes = m.classes;
  const columns = [...new Set(m.features.map((f) => f.source))];
  const K = classes.length;
  return {
    name,
    kind: KIND_NAMES[m.modelType] ?? m.modelType,
    sha256,
    target: m.label,
    classes,
    threshold: m.unknownBelow,
    columns,
    features: m.features.map((f) => f.name),
    ...(m.meter ? { meter: m.meter } : {}),
    predict(t: Table): Prediction {
      const p = predictTable(model, t);
      const n = p.label.length;
      const labels = new Array<string>(n);
      const best = new Array<string>(n);
      const unknown = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        let arg = 0;
        for (let c = 1; c < K; c++) if (p.proba[i * K + c]! > p.proba[i * K + arg]!) arg = c;
        best[i] = classes[arg]!;
        const l = p.label[i]!;
        if (l < 0) { labels[i] = UNKNOWN_LABEL; unknown[i] = 1; } else labels[i] = classes[l]!;
      }
      const unknownReason = Array.from(p.reason, (r) => (r ? p.reasonNames[r]! : null));
      return { labels, confidence: p.confidence, unknown, best, unknownReason };
    },
    info(): ModelInfo {
      const perm = new Map((evaluation?.featureImportance ?? []).map((f) => [f.feature, f.permutation]));
      const ev = evaluation && evaluation.classes.length === K && evaluation.classes.every((c, i) => c === classes[i]) ? evaluation : null;
      return {
        name,
        kind: KIND_NAMES[m.modelType] ?? m.modelType,
        target: m.label,
        sha256,
        classes,
        threshold: m.unknownBelow,
        columns,
        features: m.features.map((f) => f.name),
        featureImportance: m.featureImportance.map((f) => ({ feature: f.feature, impurity: f.impurity, permutation: perm.get(f.feature) ?? 0 })),
        metrics: m.metrics || evaluation ? {
          ...(m.metrics ? {
            accuracy: m.metrics.accuracy, balancedAccuracy: m.metrics.balancedAccuracy, macroF1: m.metrics.macroF1,
            weightedF1: m.metrics.weightedF1, split: m.metrics.split.description, rows: m.metrics.rows,
          } : {}),
          ...(evaluation ? {
            perClass: evaluation.perClass,
            ...(!m.metrics ? { accuracy: evaluation.accuracy, balancedAccuracy: evaluation.balancedAccuracy, macroF1: evaluation.macro.f1, weightedF1: evaluation.weighted.f1, split: evaluation.split.description, rows: evaluation.data.rows } : {}),
          } : {}),
          ...(ev ? { confusion: ev.confusion } : {}),
        } : null,
        trainedAt: m.createdAt ?? null,
        sizeBytes: 0,
        isDefault: true,
      };
    },
  };
}
