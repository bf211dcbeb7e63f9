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

/** What `<upload dir>/catalog.json` records per model name: whether it is a default, whether it was removed. */
type Flags = Record<string, { default?: boolean; removed?: boolean }>;

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
        if (this.entries.has(name) || flags[name]?.removed === true) continue;
        await this.loadEntry(name, file, flags);
      }
    }
  }

  private async loadEntry(name: string, file: string, flags: Flags): Promise<void> {
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

  /** Makes a loaded model a default (applied to jobs that name no models) or not; remembered in the data dir. */
  setDefault(name: string, isDefault: boolean): ModelInfo {
    const e = this.entries.get(name);
    if (!e) throw new ServiceError('MODEL_NOT_FOUND', `no model named '${name}' is loaded`);
    if (isDefault && (e.model.meter?.earlyPackets ?? 0) > 0) {
      throw new ServiceError('BAD_REQUEST', `'${name}' is an early model (${e.model.meter!.earlyPackets} packets): it answers live flows at that packet, never whole flows, so it cannot be a default`);
    }
    e.isDefault = isDefault;
    const flags = this.flags();
    flags[name] = { ...flags[name], default: isDefault };
    this.saveFlags(flags);
    return this.info(e);
  }

  /**
   * Unloads a model. An uploaded model's file is deleted (a model of the same name in a --models directory then
   * shows again); a model of a read-only --models directory keeps its file and is recorded as removed in the data
   * dir, so it stays unloaded across restarts until a model of that name is uploaded.
   */
  async remove(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) throw new ServiceError('MODEL_NOT_FOUND', `no model named '${name}' is loaded`);
    this.entries.delete(name);
    const flags = this.flags();
    if (path.resolve(path.dirname(e.file)) === path.resolve(this.uploadDir)) {
      rmSync(e.file, { force: true });
      delete flags[name];
      const other = findModelFile(name, this.dirs);
      if (other) await this.loadEntry(name, other, flags);
    } else {
      flags[name] = { ...flags[name], removed: true };
    }
    this.saveFlags(flags);
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
    // An early model is never a default for whole-flow jobs, even when the upload asks.
    const isDefault = opts.isDefault && !((model.meter?.earlyPackets ?? 0) > 0);
    flags[name] = { default: isDefault };
    this.saveFlags(flags);
    // The loader hashed the same bytes we just moved, so the model's sha256 pins the installed file.
    const entry: Entry = { model, file: dest, sizeBytes: statSync(dest).size, isDefault };
    this.entries.set(name, entry);
    return this.info(entry);
  }

  private flags(): Flags {
    try {
      return JSON.parse(readFileSync(path.join(this.uploadDir, 'catalog.json'), 'utf8')) as Flags;
    } catch {
      return {};
    }
  }

  /** Written to a temporary file and renamed: a crash mid-write never leaves a half file that would reset every flag. */
  private saveFlags(flags: Flags): void {
    mkdirSync(this.uploadDir, { recursive: true });
    const file = path.join(this.uploadDir, 'catalog.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(flags, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  private info(e: Entry): ModelInfo {
    return { ...e.model.info(), name: e.model.name, sha256: e.model.sha256, sizeBytes: e.sizeBytes, isDefault: e.isDefault };
  }
}
