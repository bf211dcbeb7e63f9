import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ServiceError } from '../errors.ts';
import type { ModelRef } from '../jobs/types.ts';
import { findModelFile } from './cache.ts';
import { loadModelFile, MODEL_EXTENSION, modelFiles } from './load.ts';
import type { ModelInfo, ServiceModel } from './types.ts';
import type { ClassifyCatalog } from './classify.ts';

interface Entry {
  model: ServiceModel;
  file: string;
  sizeBytes: number;
  isDefault: boolean;
}

/**
 * The models the API server knows: every artifact in the --models directories and in `<data dir>/models` (where
 * POST /models stores uploads, so workers sharing the data dir find them too). The API thread loads each once to
 * describe it and to check requests against its columns; predictions run in the worker threads.
 */
export class ModelCatalog {
  private readonly entries = new Map<string, Entry>();
  readonly warnings: string[] = [];

  /** `dirs`: read-only model directories (--models); `uploadDir`: where uploads go (searched first). */
  constructor(readonly dirs: readonly string[], readonly uploadDir: string) {}

  /** Directories workers search, in order. */
  get searchDirs(): string[] {
    return [this.uploadDir, ...this.dirs];
  }

  async load(): Promise<void> {
    this.entries.clear();
    const flags = this.flags();
    for (const dir of this.searchDirs) {
      for (const [name, file] of modelFiles(dir)) {
        if (this.entries.has(name)) continue;
        try {
          const model = await loadModelFile(file, name);
          // Describe it once here, so a model the listing cannot describe is skipped rather than failing the listing.
          model.info();
          // An early model (veil train --early N) answers flows as of their N-th packet: never a default for jobs,
          // which answer whole flows (live sources apply it at packet N).
          const early = (model.meter?.earlyPackets ?? 0) > 0;
          if (early && flags[name]?.default) this.warnings.push(`${file}: an early model (${model.meter!.earlyPackets} packets) is not applied to whole flows by default`);
          this.entries.set(name, { model, file, sizeBytes: statSync(file).size, isDefault: early ? false : flags[name]?.default ?? true });
        } catch (err) {
          this.warnings.push(`${file}: not loaded: ${(err as Error).message}`);
        }
      }
    }
  }

  list(): ModelInfo[] {
    return [...this.entries.values()].map((e) => this.info(e));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): ServiceModel {
    const e = this.entries.get(name);
    if (!e) throw new ServiceError('MODEL_NOT_FOUND', `no model named '${name}' is loaded`);
    return e.model;
  }

  describe(name: string): ModelInfo {
    const e = this.entries.get(name);
    if (!e) throw new ServiceError('MODEL_NOT_FOUND', `no model named '${name}' is loaded`);
    return this.info(e);
  }

  /** Resolves the models a request names (or the defaults), pinned by content hash. */
  resolve(names: readonly string[] | null): { refs: ModelRef[]; models: ServiceModel[] } {
    const list = names ?? [...this.entries.entries()].filter(([, e]) => e.isDefault).map(([n]) => n);
    const unknown = list.filter((n) => !this.entries.has(n));
    if (unknown.length) {
      throw new ServiceError('UNKNOWN_MODEL', `unknown model(s): ${unknown.join(', ')}; loaded: ${[...this.entries.keys()].join(', ') || 'none'}`);
    }
    const models = [...new Set(list)].map((n) => this.entries.get(n)!.model);
    return { refs: models.map((m) => ({ name: m.name, sha256: m.sha256 })), models };
  }

  /** The catalog as POST /classify's worker thread needs it. */
  classifyCatalog(maxRows: number): ClassifyCatalog {
    const models: ClassifyCatalog['models'] = {};
    for (const [name, e] of this.entries) models[name] = { ref: { name, sha256: e.model.sha256 }, columns: e.model.columns };
    return { models, defaults: [...this.entries].filter(([, e]) => e.isDefault).map(([n]) => n), maxRows };
  }

  /**
   * Validates an uploaded artifact with the model loader and installs it under `name` (a foreign or damaged file
   * is a BAD_MODEL error and is removed).
   */
  async install(tmpFile: string, name: string, opts: { replace: boolean; isDefault: boolean }): Promise<ModelInfo> {
    if (this.entries.has(name) && !opts.replace) {
      throw new ServiceError('MODEL_EXISTS', `a model named '${name}' is already loaded; send replace=true to replace it`);
    }
    let model: ServiceModel;
    try {
      model = await loadModelFile(tmpFile, name);
      model.info();
    } catch (err) {
      const e = err as { userFacing?: boolean; message?: string };
      throw new ServiceError('BAD_MODEL', `the upload is not a model this server can load: ${e.userFacing ? e.message : 'unreadable file'}`);
    }
    mkdirSync(this.uploadDir, { recursive: true });
    const old = findModelFile(name, [this.uploadDir]);
    const dest = path.join(this.uploadDir, `${name}${MODEL_EXTENSION}`);
    try {
      renameSync(tmpFile, dest);
    } catch {
      copyFileSync(tmpFile, dest);
      rmSync(tmpFile, { force: true });
    }
    if (old && old !== dest) rmSync(old, { force: true });
    const flags = this.flags();
    flags[name] = { default: opts.isDefault };
    writeFileSync(path.join(this.uploadDir, 'catalog.json'), JSON.stringify(flags, null, 2));
    // The loader hashed the same bytes we just moved, so the model's sha256 pins the installed file.
    const entry: Entry = { model, file: dest, sizeBytes: statSync(dest).size, isDefault: opts.isDefault };
    this.entries.set(name, entry);
    return this.info(entry);
  }

  private flags(): Record<string, { default: boolean }> {
    try {
      return JSON.parse(readFileSync(path.join(this.uploadDir, 'catalog.json'), 'utf8')) as Record<string, { default: boolean }>;
    } catch {
      return {};
    }
  }

  private info(e: Entry): ModelInfo {
    return { ...e.model.info(), name: e.model.name, sha256: e.model.sha256, sizeBytes: e.sizeBytes, isDefault: e.isDefault };
  }
}
