import type { JobQueue } from '../jobs/types.ts';
import type { CpuPool } from '../jobs/pool.ts';
import type { Metrics } from '../metrics.ts';
import type { ModelCatalog } from '../models/catalog.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { JobRegistry } from '../store/registry.ts';
import type { LiveContext } from '../live/routes.ts';

/** Everything the routes use; built by `startServer` (or a test) and handed to `buildApp`. */
export interface ServiceContext {
  dataDir: string;
  registry: JobRegistry;
  queue: JobQueue;
  catalog: ModelCatalog;
  /** Trained models by name and version (POST /models/train registers them; activate, retire). */
  models: ModelRegistry;
  /** Worker threads for POST /classify (the API thread never predicts). */
  pool: CpuPool;
  metrics: Metrics;
  /** Live sources, their records and the dashboard's events (absent: no live routes). */
  live?: LiveContext;
  /** Set on SIGTERM: no new jobs, /readyz fails. */
  state: { draining: boolean };
  limits: {
    maxUploadBytes: number;
    maxClassifyRows: number;
    /** Bytes a gzip upload may inflate to (its job fails with UPLOAD_TOO_LARGE past it). */
    maxInflatedBytes?: number;
    /** Wall time of one job run (0 or absent: none). */
    jobTimeoutMs?: number;
  };
}
