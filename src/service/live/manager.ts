import { randomBytes } from 'node:crypto';
import { LiveSource, type LiveSourceStats } from '../../live/source.ts';
import type { LiveRecord } from '../../live/classifier.ts';
import type { MeterOptions } from '../../flow/meter.ts';
import { checkLiveArgs } from '../../wire/live.ts';
import { ServiceError } from '../errors.ts';
import type { ModelCatalog } from '../models/catalog.ts';
import { findModelFile } from '../models/cache.ts';
import { LiveHub } from './hub.ts';
import { LiveStore, type StoredLiveRecord } from './store.ts';

export interface LiveStartRequest {
  interface: string;
  filter?: string;
  workers?: number;
  early?: number;
  /** Model names from the catalog (default: the catalog's defaults). */
  models?: string[];
}

export interface LiveSourceInfo extends LiveSourceStats {
  id: string;
  models: string[];
}

export interface LiveManagerOptions {
  dataDir: string;
  catalog: ModelCatalog;
  /** Live records older than this are deleted (operator's `--live-retention-hours`). */
  retentionMs: number;
  catalogFiles?: string[];
  /** Meter settings for live flows (default: 15 s idle, as the shipped models were metered; 120 s active). */
  meter?: MeterOptions;
  /** Models trained with `veil train --early N` (the early verdicts' behaviour side), kept out of the catalog so
   * that jobs never apply them to whole flows; each source uses those whose cut is its own N. */
  earlyModels?: { column: string; file: string }[];
  /** Most live sources at once. */
  maxSources?: number;
  /** A source started without `early` / `workers` gets the server's (`veil serve --early`, `--live-workers`). */
  defaultEarly?: number;
  defaultWorkers?: number;
  log?: (m: string) => void;
}

/**
 * The service's live sources (`veil serve --interface`, POST /api/v1/live/sources): each a {@link LiveSource} whose
 * records go to the live store, to the Prometheus counters and to the dashboards' event streams.
 */
export class LiveManager {
  readonly store: LiveStore;
  readonly hub = new LiveHub();
  private readonly sources = new Map<string, { source: LiveSource; models: string[]; req: LiveStartRequest; refs: string[] }>();
  private readonly timers: NodeJS.Timeout[];
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LiveManagerOptions) {
    this.store = new LiveStore(opts.dataDir, opts.retentionMs);
    this.timers = [
      setInterval(() => this.hub.flush(), 500),
      setInterval(() => this.hub.broadcast('health', { sources: this.list() }), 1000),
      setInterval(() => {
        try {
          const n = this.store.sweep();
          if (n) opts.log?.(`live retention: deleted ${n} record(s)`);
        } catch (err) { opts.log?.(`live retention sweep failed: ${(err as Error).message}`); }
      }, 60_000),
    ];
    for (const t of this.timers) t.unref();
  }

  async start(req: LiveStartRequest, reuseId?: string): Promise<LiveSourceInfo> {
    if (!reuseId && this.sources.size >= (this.opts.maxSources ?? 4)) throw new ServiceError('BAD_REQUEST', `at most ${this.opts.maxSources ?? 4} live sources run at once; stop one first`);
    try {
      checkLiveArgs(req.interface, req.filter);
    } catch (e) {
      throw new ServiceError('BAD_REQUEST', (e as Error).message);
    }
    for (const s of this.sources.values()) {
      const st = s.source.stats();
      if (st.iface === req.interface && st.state === 'running' && st.filter === (req.filter ?? '')) {
        throw new ServiceError('BAD_REQUEST', `a live source already captures on ${req.interface} with this filter`);
      }
    }
    const { refs } = this.opts.catalog.resolve(req.models ?? null);
    const dirs = this.opts.catalog.searchDirs;
    const models = [...refs.map((r) => ({ column: r.name, file: findModelFile(r.name, dirs)! })).filter((m) => m.file), ...(this.opts.earlyModels ?? [])];
    const id = reuseId ?? `live-${randomBytes(4).toString('hex')}`;
    const source = new LiveSource({
      iface: req.interface,
      ...(req.filter ? { filter: req.filter } : {}),
      workers: req.workers ?? this.opts.defaultWorkers ?? 1,
      early: req.early ?? this.opts.defaultEarly ?? 0,
      meter: { table: { idleTimeoutUs: 15e6, activeTimeoutUs: 120e6 }, ...this.opts.meter },
      models,
      catalogFiles: this.opts.catalogFiles ?? [],
      onRecords: (rs) => this.records(id, rs),
      onEnd: (err) => this.opts.log?.(`live source ${id} on ${req.interface} ended${err ? `: ${err.message}` : ''}`),
    });
    try {
      await source.start();
    } catch (err) {
      const e = err as Error & { userFacing?: boolean; code?: string };
      if (e.userFacing) throw new ServiceError('LIVE_CAPTURE', e.message);
      throw err;
    }
    this.sources.set(id, { source, models: models.map((m) => m.column), req, refs: refs.map((r) => `${r.name}@${r.sha256}`) });
    this.opts.log?.(`live source ${id}: ${req.interface}${req.filter ? ` (${req.filter})` : ''}, ${req.workers ?? this.opts.defaultWorkers ?? 1} worker(s), early verdicts ${(req.early ?? this.opts.defaultEarly) ? `at ${req.early ?? this.opts.defaultEarly} packets` : 'off'}`);
    return this.info(id);
  }

  private records(id: string, rs: LiveRecord[]): void {
    const now = Date.now();
    const stored: StoredLiveRecord[] = rs.map((r) => ({ ...r, seq: 0, source: id, receivedAt: now }));
    try {
      this.store.add(stored);
    } catch (err) {
      this.opts.log?.(`live store: ${(err as Error).message}`);
    }
    this.hub.records(stored);
  }

  info(id: string): LiveSourceInfo {
    const s = this.sources.get(id);
    if (!s) throw new ServiceError('LIVE_NOT_FOUND', `no live source '${id.slice(0, 80)}'`);
    return { id, models: s.models, ...s.source.stats() };
  }

  list(): LiveSourceInfo[] {
    return [...this.sources.keys()].map((id) => this.info(id));
  }

  /** Stops a source (its open flows end and get their final verdicts) and forgets it. */
  async stop(id: string): Promise<LiveSourceInfo> {
    const s = this.sources.get(id);
    if (!s) throw new ServiceError('LIVE_NOT_FOUND', `no live source '${id.slice(0, 80)}'`);
    await s.source.stop();
    const info = this.info(id);
    this.sources.delete(id);
    this.hub.flush();
    return info;
  }

  /**
   * The default models changed (a trained version activated or retired): every source started without a model list
   * restarts under its id with the new defaults. Its open flows end with their final verdicts first, so the capture
   * has a gap of the restart (well under a second), counted in no flow.
   */
  async reloadDefaults(): Promise<string[]> {
    // One reload at a time: an activation and a retire close together must not restart a source twice at once.
    const run = this.reloading.then(() => this.reload());
    this.reloading = run.catch(() => []);
    return run;
  }

  private async reload(): Promise<string[]> {
    const restarted: string[] = [];
    for (const [id, s] of [...this.sources]) {
      // By name and content: a new version under the same name is a change, for a source that follows the defaults
      // and for one that names the model.
      let refs;
      try {
        refs = this.opts.catalog.resolve(s.req.models ?? null).refs;
      } catch (err) {
        // A model the source names is gone (retired, deleted): it keeps the one it loaded until it is restarted.
        this.opts.log?.(`live source ${id}: keeps its models (${(err as Error).message})`);
        continue;
      }
      const now = refs.map((r) => `${r.name}@${r.sha256}`);
      if (now.length === s.refs.length && now.every((n, i) => n === s.refs[i])) continue;
      await s.source.stop();
      this.sources.delete(id);
      try {
        await this.start(s.req, id);
        restarted.push(id);
        this.opts.log?.(`live source ${id}: restarted with the ${s.req.models ? '' : 'default '}models ${refs.map((r) => r.name).join(', ') || '(none)'}`);
      } catch (err) {
        // Shown stopped, with its counters, rather than gone without a word: the operator sees it and starts it again.
        this.sources.set(id, s);
        this.opts.log?.(`live source ${id}: could not restart with the new models (it stays stopped): ${(err as Error).message}`);
      }
    }
    return restarted;
  }


  prometheus(): string {
    return this.hub.prometheus(this.list().map((s) => ({
      id: s.id, iface: s.iface, packets: s.packets, dropped: s.capture?.droppedByKernel ?? 0,
      ifDropped: (s.capture?.droppedByInterface ?? 0) + (s.iface_rx?.dropped ?? 0),
    })));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.sources.keys()].map((id) => this.stop(id).catch(() => {})));
    this.hub.flush();
    this.hub.closeAll();
    this.store.close();
  }
}
