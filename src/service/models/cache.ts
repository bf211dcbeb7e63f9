import path from 'node:path';
import { ServiceError } from '../errors.ts';
import type { ModelRef } from '../jobs/types.ts';
import { loadModelFile, modelFiles, sha256File } from './load.ts';
import type { ServiceModel } from './types.ts';

/**
 * Models loaded by one thread, kept for its life and keyed by content hash: a job pins (name, sha256), so a model
 * replaced on disk under the same name is loaded afresh and a job never runs half on one version, half on another.
 */
export class ModelCache {
  private readonly loaded = new Map<string, Promise<ServiceModel>>();

  get(ref: ModelRef, dirs: readonly string[]): Promise<ServiceModel> {
    let m = this.loaded.get(ref.sha256);
    if (!m) {
      m = this.load(ref, dirs);
      this.loaded.set(ref.sha256, m);
      m.catch(() => this.loaded.delete(ref.sha256));
    }
    return m;
  }

  private async load(ref: ModelRef, dirs: readonly string[]): Promise<ServiceModel> {
    let file = findModelFile(ref.name, dirs);
    if (!file || sha256File(file) !== ref.sha256) {
      // Another version of a trained model may have been activated since the job was queued: the version the job
      // was submitted with is still among the name's versions.
      const version = findVersionFile(ref, dirs);
      if (!file && !version) throw new ServiceError('UNKNOWN_MODEL', `model '${ref.name}' is not in this worker's model directories (${dirs.join(', ')})`);
      if (!version) throw new ServiceError('UNKNOWN_MODEL', `model '${ref.name}' on this worker differs from the version the job was submitted with`);
      file = version;
    }
    const model = await loadModelFile(file, ref.name);
    return model;
  }
}

/** A trained version of the named model with this content (`<dir>/versions/<name>/*.veilmodel`), if any. */
function findVersionFile(ref: ModelRef, dirs: readonly string[]): string | null {
  for (const d of dirs) {
    for (const [, f] of modelFiles(path.join(d, 'versions', ref.name))) if (sha256File(f) === ref.sha256) return f;
  }
  return null;
}

/** The artifact of a named model in the first directory that has one. */
export function findModelFile(name: string, dirs: readonly string[]): string | null {
  for (const d of dirs) {
    const hit = modelFiles(d).find(([n]) => n === name);
    if (hit) return hit[1];
  }
  return null;
}
